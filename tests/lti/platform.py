"""An LTI 1.3 platform (the school's LMS side) for the tests: a real HTTP server on 127.0.0.1.

It speaks the standards at the HTTP boundary, with real JOSE (PyJWT + cryptography):

* **OIDC third-party login initiation** (LTI 1.3 core, IMS Security Framework 5.1.1):
  ``GET <platform>/launch/<hint>`` sends the browser to the tool's login initiation URL with
  ``iss``, ``login_hint``, ``target_link_uri``, ``lti_message_hint``, ``client_id`` and
  ``lti_deployment_id``.
* **Authorization endpoint** ``GET <platform>/authorize``: checks the tool's authentication
  request (``scope=openid``, ``response_type=id_token``, ``response_mode=form_post``,
  ``prompt=none``, the registered ``client_id`` and ``redirect_uri``, the ``login_hint`` and
  ``lti_message_hint`` of a pending launch, a ``nonce``) and answers with an auto-submitting HTML
  form that POSTs ``id_token`` (RS256, signed with the platform's key) and ``state`` to the
  tool's redirect URI. Each launch can be used once.
* **JWKS** ``GET <platform>/jwks``: the platform's public key.
* **AGS token endpoint** ``POST <platform>/token``: OAuth 2.0 client credentials with a
  ``client_assertion`` JWT (RFC 7523) signed by the tool, verified against the tool's JWKS URL
  (``iss`` = ``sub`` = client id, ``aud`` = the token URL, ``exp``, a ``jti`` used once); the
  scopes asked must be AGS scopes. Answers ``{"access_token", "token_type": "Bearer",
  "expires_in", "scope"}``.
* **Deep Linking 2.0** (content selection): a launch with ``deep_linking=`` is an
  ``LtiDeepLinkingRequest`` whose ``deep_linking_settings`` name the return endpoint
  ``POST <platform>/deep-link-return/<hint>``; it takes the form field ``JWT`` (the tool's
  ``LtiDeepLinkingResponse``), verified against the tool's JWKS URL (RS256, ``iss`` = client id,
  ``aud`` = the platform's issuer, ``exp``/``iat``/``nonce``, message type, version,
  deployment id, the request's ``data`` echoed back), once per request, and records its content
  items.
* **AGS scores** ``POST <lineitem>/scores`` (``Content-Type:
  application/vnd.ims.lis.v1.score+json``, ``Authorization: Bearer <token>`` holding the score
  scope): records every score it accepts and answers 204.

API for tests::

    platform = LtiPlatform()              # client_id "lms-tool", deployment "deployment-1"
    platform.start(); ...; platform.stop()
    platform.hub_env()                    # LMS_LTI_* settings for a hub that trusts this platform
    platform.register_tool(hub_url)       # the tool's login, redirect and JWKS URLs (hub routes)
    url = platform.launch_url(user="u-1", roles=["Learner"], context=..., custom=...,
                              target_link_uri=None, tamper=None)   # open in a browser
    result = platform.launch(requests_session, user=..., ...)      # the same, without a browser
    result.response                       # the tool's answer to the id_token POST (no redirects
                                          # followed) or, when the flow stopped earlier, that answer
    result.replay()                       # POST the same id_token and state again, same cookies
    platform.scores                       # [Score(lineitem, body, content_type)], in arrival order
    platform.score_attempts               # every POST to a scores endpoint, accepted or not
    platform.fail_next_scores(n, status=503)   # the next n score POSTs are refused with status
    platform.wait_for_scores(n, timeout)  # wait until n scores were accepted; return them
    platform.tokens_issued                # access tokens handed out, with their scopes
    platform.lineitem_url(resource_link_id)
    platform.launch(session, user="t", roles=["Instructor"],
                    deep_linking={"accept_multiple": True, ...})   # a content selection
    platform.deep_link_returns            # [DeepLinkReturn(hint, claims, content_items)]
    platform.framed(url)                  # an LMS page showing the launch ``url`` in an iframe
    platform.deep_link_attempts           # every POST to the return endpoint

``tamper`` crafts a bad launch: ``"wrong_issuer"`` (iss of another platform),
``"expired"`` (exp in the past), ``"bad_signature"`` (signed with another key under the
platform's key id), ``"unknown_deployment"`` (a deployment id the tool was not given),
``"wrong_audience"`` (aud of another tool). Roles given as short names (``Learner``,
``Instructor``, ``TeachingAssistant``, ``Administrator``) become LIS context role URIs.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.netutil import bind_sockets
from tornado.web import Application, HTTPError, RequestHandler

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS_SCOPES = (AGS + "lineitem", AGS + "lineitem.readonly", AGS + "result.readonly", AGS + "score")
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
ROLE_URI = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TAMPERS = ("wrong_issuer", "expired", "bad_signature", "unknown_deployment", "wrong_audience")


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key, kid: str) -> dict:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@dataclass
class Score:
    lineitem: str
    body: dict
    content_type: str
    received: float = field(default_factory=time.time)


@dataclass
class DeepLinkReturn:
    hint: str
    claims: dict
    content_items: list


@dataclass
class Launch:
    hint: str
    user: str
    roles: list
    context: dict
    resource_link: dict
    custom: dict
    target_link_uri: str
    tamper: str | None
    name: str
    email: str
    deep_linking: dict | None = None
    used: bool = False
    returned: bool = False


@dataclass
class LaunchResult:
    """How a launch went: ``response`` is the tool's last answer (not followed)."""

    response: requests.Response
    form_action: str | None = None
    form_fields: dict | None = None
    cookies: dict | None = None

    def replay(self) -> requests.Response:
        """The same id_token POST again, with the cookies the browser had for the first one."""
        assert self.form_action, "this launch never reached the id_token POST"
        return requests.post(self.form_action, data=self.form_fields, cookies=self.cookies,
                             allow_redirects=False, timeout=30)


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value", "")


class _Handler(RequestHandler):
    @property
    def platform(self) -> "LtiPlatform":
        return self.settings["platform"]

    def fail(self, status: int, message: str):
        self.platform.errors.append(f"{self.request.path}: {message}")
        raise HTTPError(status, reason=message)

    def write_error(self, status_code, **kwargs):
        self.finish({"error": self._reason})


class JwksHandler(_Handler):
    def get(self):
        self.finish({"keys": [public_jwk(self.platform.key, self.platform.kid)]})


class InitiateHandler(_Handler):
    """The learner clicks the activity: off to the tool's login initiation URL."""

    def get(self, hint):
        p = self.platform
        launch = p.launches.get(hint)
        if launch is None or p.tool is None:
            self.fail(404, "no such launch")
        deployment = ("deployment-unknown" if launch.tamper == "unknown_deployment"
                      else p.deployment_id)
        self.redirect(p.tool["login_url"] + "?" + urlencode({
            "iss": p.issuer, "login_hint": launch.user, "target_link_uri": launch.target_link_uri,
            "lti_message_hint": hint, "client_id": p.client_id, "lti_deployment_id": deployment,
        }))


class CoursePageHandler(_Handler):
    """A course page of the LMS that shows the launch in a frame, as LMSs show content
    selection."""

    def get(self, hint):
        if hint not in self.platform.launches:
            self.fail(404, "no such launch")
        self.finish("<!doctype html><html><body><h1>Test LMS course</h1>"
                    f"<iframe id=\"tool-frame\" src=\"/launch/{hint}\" width=\"1200\" "
                    "height=\"700\"></iframe></body></html>")


class AuthorizeHandler(_Handler):
    """The OIDC authentication request of the tool; the answer is a form_post of the id_token."""

    def get(self):
        p = self.platform
        arg = lambda name: self.get_argument(name, "")  # noqa: E731
        for name, want in (("scope", "openid"), ("response_type", "id_token"),
                           ("response_mode", "form_post"), ("prompt", "none"),
                           ("client_id", p.client_id)):
            if arg(name) != want:
                self.fail(400, f"{name} must be {want!r}, not {arg(name)!r}")
        if arg("redirect_uri") not in p.tool["redirect_uris"]:
            self.fail(400, f"redirect_uri {arg('redirect_uri')!r} is not registered")
        launch = p.launches.get(arg("lti_message_hint"))
        if launch is None or launch.used or arg("login_hint") != launch.user:
            self.fail(400, "unknown or used lti_message_hint, or a login_hint of someone else")
        if not arg("nonce") or not arg("state"):
            self.fail(400, "nonce and state are required")
        launch.used = True
        token = p.id_token(launch, arg("nonce"))
        action = html.escape(arg("redirect_uri"))
        self.finish(
            "<!doctype html><html><body onload=\"document.forms[0].submit()\">"
            f"<form method=\"post\" action=\"{action}\">"
            f"<input type=\"hidden\" name=\"id_token\" value=\"{html.escape(token)}\">"
            f"<input type=\"hidden\" name=\"state\" value=\"{html.escape(arg('state'))}\">"
            "<noscript><button>Continue</button></noscript></form></body></html>"
        )


class TokenHandler(_Handler):
    """OAuth 2.0 client credentials with a JWT client assertion signed by the tool."""

    async def post(self):
        p = self.platform
        if self.get_argument("grant_type", "") != "client_credentials":
            self.fail(400, "grant_type must be client_credentials")
        if self.get_argument("client_assertion_type", "") != ASSERTION_TYPE:
            self.fail(400, "client_assertion_type must be the JWT bearer type")
        assertion = self.get_argument("client_assertion", "")
        try:
            client = jwt.PyJWKClient(p.tool["jwks_url"])
            key = await IOLoop.current().run_in_executor(
                None, client.get_signing_key_from_jwt, assertion)
            claims = jwt.decode(assertion, key.key, algorithms=["RS256"], audience=p.token_url,
                                options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]})
        except (jwt.PyJWTError, TypeError) as exc:
            self.fail(401, f"client_assertion refused: {exc}")
        if claims["iss"] != p.client_id or claims["sub"] != p.client_id:
            self.fail(401, "client_assertion iss and sub must be the client id")
        if claims["jti"] in p.used_jtis:
            self.fail(401, "client_assertion jti used before")
        p.used_jtis.add(claims["jti"])
        scopes = self.get_argument("scope", "").split()
        if not scopes or any(s not in AGS_SCOPES for s in scopes):
            self.fail(400, f"invalid_scope: {' '.join(scopes)!r}")
        token = secrets.token_urlsafe(24)
        p.tokens_issued[token] = {"scopes": scopes, "expires": time.time() + 3600}
        self.finish({"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                     "scope": " ".join(scopes)})


class ScoresHandler(_Handler):
    def post(self, item):
        p = self.platform
        lineitem = p.lineitem_url(item)
        p.score_attempts.append(lineitem)
        auth = self.request.headers.get("Authorization", "")
        grant = p.tokens_issued.get(auth[len("Bearer "):]) if auth.startswith("Bearer ") else None
        if grant is None or grant["expires"] < time.time():
            self.fail(401, "a valid Bearer access token is required")
        if AGS + "score" not in grant["scopes"]:
            self.fail(403, "the token does not hold the score scope")
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type != SCORE_TYPE:
            self.fail(415, f"Content-Type must be {SCORE_TYPE}")
        try:
            body = json.loads(self.request.body)
        except ValueError:
            self.fail(400, "the body is not JSON")
        missing = [k for k in ("userId", "activityProgress", "gradingProgress", "timestamp")
                   if k not in body]
        if missing:
            self.fail(400, f"missing: {', '.join(missing)}")
        if "scoreGiven" in body and "scoreMaximum" not in body:
            self.fail(400, "scoreGiven needs scoreMaximum")
        with p.lock:
            if p._failures:
                p._failures -= 1
                self.fail(p._failure_status, "platform busy")
            p.scores.append(Score(lineitem, body, content_type))
        self.set_status(204)
        self.finish()


class DeepLinkReturnHandler(_Handler):
    """The tool's answer to a content selection: an auto-submitted form with ``JWT``."""

    async def post(self, hint):
        p = self.platform
        p.deep_link_attempts.append(hint)
        launch = p.launches.get(hint)
        if launch is None or launch.deep_linking is None:
            self.fail(404, "no such content selection")
        token = self.get_body_argument("JWT", "")
        try:
            client = jwt.PyJWKClient(p.tool["jwks_url"])
            key = await IOLoop.current().run_in_executor(
                None, client.get_signing_key_from_jwt, token)
            claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=p.issuer,
                                options={"require": ["iss", "aud", "exp", "iat", "nonce"]})
        except (jwt.PyJWTError, TypeError) as exc:
            self.fail(401, f"JWT refused: {exc}")
        expect = {"iss": p.client_id, LTI + "message_type": "LtiDeepLinkingResponse",
                  LTI + "version": "1.3.0", LTI + "deployment_id": p.deployment_id}
        for name, want in expect.items():
            if claims.get(name) != want:
                self.fail(400, f"{name} must be {want!r}, not {claims.get(name)!r}")
        if claims.get(DL + "data") != launch.deep_linking.get("data"):
            self.fail(400, "data is not the request's data")
        items = claims.get(DL + "content_items")
        if not isinstance(items, list):
            self.fail(400, "content_items must be a list")
        if launch.returned:
            self.fail(400, "this content selection was answered before")
        launch.returned = True
        p.deep_link_returns.append(DeepLinkReturn(hint, claims, items))
        self.finish("<!doctype html><html><body><h1 id=\"platform-content-added\">"
                    f"{len(items)} item(s) added</h1></body></html>")


class LtiPlatform:
    """See the module docstring."""

    def __init__(self, client_id: str = "lms-tool", deployment_id: str = "deployment-1"):
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.key, self.kid = new_key(), "platform-key-1"
        self.tool: dict | None = None
        self.launches: dict[str, Launch] = {}
        self.scores: list[Score] = []
        self.score_attempts: list[str] = []
        self.tokens_issued: dict[str, dict] = {}
        self.used_jtis: set[str] = set()
        self.deep_link_returns: list[DeepLinkReturn] = []
        self.deep_link_attempts: list[str] = []
        self.errors: list[str] = []  # every refusal, for failing tests to print
        self.lock = threading.Lock()
        self._failures, self._failure_status = 0, 503
        self.port = 0
        self._loop = None
        self._thread: threading.Thread | None = None

    # -- server --------------------------------------------------------------------------------

    def start(self) -> "LtiPlatform":
        sockets = bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(asyncio.new_event_loop())
            app = Application([
                (r"/jwks", JwksHandler), (r"/launch/([\w-]+)", InitiateHandler),
                (r"/authorize", AuthorizeHandler), (r"/token", TokenHandler),
                (r"/lineitems/([\w-]+)/scores", ScoresHandler),
                (r"/deep-link-return/([\w-]+)", DeepLinkReturnHandler),
                (r"/course/([\w-]+)", CoursePageHandler),
            ], platform=self)
            HTTPServer(app).add_sockets(sockets)
            self._loop = IOLoop.current()
            ready.set()
            self._loop.start()

        self._thread = threading.Thread(target=run, daemon=True, name="lti-platform")
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.add_callback(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    # -- addresses -----------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        return self.issuer + "/jwks"

    @property
    def authorize_url(self) -> str:
        return self.issuer + "/authorize"

    @property
    def token_url(self) -> str:
        return self.issuer + "/token"

    def lineitem_url(self, resource_link_id: str) -> str:
        return f"{self.issuer}/lineitems/{resource_link_id}"

    def hub_env(self) -> dict:
        return {
            "LMS_AUTHENTICATOR": "lti13", "LMS_LTI_ISSUER": self.issuer,
            "LMS_LTI_CLIENT_ID": self.client_id, "LMS_LTI_DEPLOYMENT_IDS": self.deployment_id,
            "LMS_LTI_JWKS_URL": self.jwks_url, "LMS_LTI_AUTHORIZE_URL": self.authorize_url,
            "LMS_LTI_TOKEN_URL": self.token_url,
        }

    def register_tool(self, hub_url: str) -> None:
        """The tool's URLs, as the school's admin enters them (see ``lms-lti-config``)."""
        self.tool = {
            "login_url": f"{hub_url}/hub/lti13/oauth_login",
            "redirect_uris": [f"{hub_url}/hub/lti13/oauth_callback"],
            "jwks_url": f"{hub_url}/hub/lti13/jwks",
            "target_link_uri": f"{hub_url}/hub/",
        }

    # -- launches ------------------------------------------------------------------------------

    def launch_url(self, user: str = "learner-1", roles=("Learner",), context=None,
                   resource_link_id: str = "rl-1", custom=None, target_link_uri=None,
                   tamper: str | None = None, name: str = "", email: str = "",
                   deep_linking: dict | None = None) -> str:
        assert self.tool, "register_tool() first"
        assert tamper in (None, *TAMPERS), tamper
        hint = secrets.token_hex(8)
        if deep_linking is not None:
            deep_linking = {
                "deep_link_return_url": f"{self.issuer}/deep-link-return/{hint}",
                "accept_types": ["ltiResourceLink"], "accept_presentation_document_targets":
                    ["iframe", "window"], "accept_multiple": True, "accept_lineitem": True,
                "data": f"csrf-{hint}", **deep_linking}
        self.launches[hint] = Launch(
            hint=hint, user=user,
            roles=[r if "#" in r else ROLE_URI + r for r in roles],
            context=context or {"id": "ctx-101", "label": "DL101", "title": "Deep learning 101"},
            resource_link={"id": resource_link_id, "title": f"Activity {resource_link_id}"},
            custom=custom or {}, target_link_uri=target_link_uri or self.tool["target_link_uri"],
            tamper=tamper, name=name or user.title(), email=email or f"{user}@school.example",
            deep_linking=deep_linking,
        )
        return f"{self.issuer}/launch/{hint}"

    def framed(self, launch_url: str) -> str:
        return f"{self.issuer}/course/{launch_url.rsplit('/', 1)[-1]}"

    def id_token(self, launch: Launch, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": ("https://other-platform.example" if launch.tamper == "wrong_issuer"
                    else self.issuer),
            "aud": "another-tool" if launch.tamper == "wrong_audience" else self.client_id,
            "azp": self.client_id, "sub": launch.user, "nonce": nonce,
            "iat": now - 400 if launch.tamper == "expired" else now,
            "exp": now - 60 if launch.tamper == "expired" else now + 300,
            "name": launch.name, "email": launch.email,
            LTI + "deployment_id": ("deployment-unknown" if launch.tamper == "unknown_deployment"
                                    else self.deployment_id),
            LTI + "message_type": "LtiResourceLinkRequest", LTI + "version": "1.3.0",
            LTI + "roles": launch.roles, LTI + "context": launch.context,
            LTI + "resource_link": launch.resource_link,
            LTI + "target_link_uri": launch.target_link_uri, LTI + "custom": launch.custom,
            AGS_CLAIM: {
                "scope": [AGS + "lineitem", AGS + "result.readonly", AGS + "score"],
                "lineitems": f"{self.issuer}/contexts/{launch.context['id']}/lineitems",
                "lineitem": self.lineitem_url(launch.resource_link["id"]),
            },
        }
        if launch.deep_linking is not None:
            del claims[LTI + "resource_link"], claims[AGS_CLAIM]
            claims.update({
                LTI + "message_type": "LtiDeepLinkingRequest",
                DL + "deep_linking_settings": {k: v for k, v in launch.deep_linking.items()
                                               if v is not None},
                LTI + "tool_platform": {"guid": "platform-1", "name": "Test LMS"},
                LTI + "launch_presentation": {"document_target": "iframe"},
            })
        key = new_key() if launch.tamper == "bad_signature" else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    def launch(self, session: requests.Session, **kwargs) -> LaunchResult:
        """A launch by a browser without JavaScript: follows the redirects, submits the
        platform's form itself and returns the tool's answer to it (not followed)."""
        r = session.get(self.launch_url(**kwargs), timeout=30)
        if not (r.ok and r.url.startswith(self.authorize_url)):
            return LaunchResult(r)
        form = _FormParser()
        form.feed(r.text)
        cookies = session.cookies.get_dict()
        answer = session.post(form.action, data=form.fields, allow_redirects=False, timeout=30)
        return LaunchResult(answer, form.action, form.fields, cookies)

    # -- scores --------------------------------------------------------------------------------

    def fail_next_scores(self, n: int, status: int = 503) -> None:
        with self.lock:
            self._failures, self._failure_status = n, status

    def wait_for_scores(self, n: int, timeout: float = 60) -> list[Score]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.scores) >= n:
                return list(self.scores)
            time.sleep(0.2)
        raise AssertionError(f"{len(self.scores)} scores, not {n}, in {timeout}s; "
                             f"refusals: {self.errors[-5:]}")


__all__ = ["LtiPlatform", "Score", "DeepLinkReturn", "LaunchResult", "SCORE_TYPE", "AGS_SCOPES",
           "TAMPERS"]
