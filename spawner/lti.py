"""LTI 1.3 launches from the school's LMS: ``LMS_AUTHENTICATOR=lti13``.

:class:`LmsLTI13Authenticator` is jupyterhub-ltiauthenticator's ``LTI13Authenticator`` (OIDC
third-party login initiation at ``/hub/lti13/oauth_login``, the signed ``id_token`` posted to
``/hub/lti13/oauth_callback``, verified against the platform's JWKS: issuer, audience, expiry,
signature, nonce against the browser's cookie) with what the course platform adds:

* only the configured deployments (``deployment_ids``) may launch; an id_token is taken once
  (its nonce is remembered until it expires, so a replayed launch is refused);
* content selection (``LtiDeepLinkingRequest``, Deep Linking 2.0) by holders of a
  ``deep_link_roles`` role lands on the hub's lesson chooser (lms_spawner.lti_deep_link); other
  users get HTTP 403, a request that takes no ``ltiResourceLink`` items HTTP 400;
* the user name comes from a stable claim (``sub`` by default), lower-cased and reduced to
  ``[a-z0-9._-]``;
* the launch's context (the school's course) is a cohort, a hub group named
  ``<cohort_prefix><label>-<6 hex of issuer+context id>``, made at its first launch; learners
  join it as they launch, and holders of an instructor role (``instructor_roles``) join
  ``<cohort>-instructors`` (which makes them the cohort's staff, lms_spawner.cohort_roles);
* the custom parameter ``lesson=<course>/<lesson>`` (or a target link URI of
  ``/hub/lms/open/<course>/<lesson>``) sends the learner to that lesson in its environment;
* the launch's Assignment and Grade Services claim is handed to the LMS service
  (``POST …/api/lti/launches``) for score passback; when the service does not take it, the
  launch goes on and the hub log says so.
"""

from __future__ import annotations

import hashlib
import json
import re
import time

from jupyterhub import orm
from jupyterhub.utils import url_path_join
from ltiauthenticator.lti13.auth import LTI13Authenticator
from ltiauthenticator.lti13.error import LoginError
from ltiauthenticator.lti13.handlers import LTI13CallbackHandler, LTI13LoginInitHandler
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from traitlets import Float, Set, Unicode, default

from . import lti_deep_link
from .lti_keys import ToolJwksHandler

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
LESSON = re.compile(r"^([a-z0-9][a-z0-9-]*)/([a-z0-9][a-z0-9-]*)$")
OPEN_PATH = re.compile(r"/lms/open/([a-z0-9][a-z0-9-]*)/([a-z0-9][a-z0-9-]*)/?$")


def slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")


def role_names(roles) -> set[str]:
    """``…/membership#Instructor`` and ``…/membership/Instructor#TeachingAssistant`` →
    ``Instructor``, ``TeachingAssistant``; a bare role name stays as it is."""
    return {str(role).rsplit("#", 1)[-1] for role in roles or ()}


class LmsLTI13LoginInitHandler(LTI13LoginInitHandler):
    """The platform's login initiation: refused early when it names another platform or an
    unknown deployment or client."""

    def post(self):
        auth = self.authenticator
        iss = self.get_argument("iss", "")
        if auth.issuer and iss and iss != auth.issuer:
            raise web.HTTPError(400, f"iss: {iss!r} is not this hub's LTI platform")
        client = self.get_argument("client_id", "")
        if client and client not in auth.client_id:
            raise web.HTTPError(400, f"client_id: {client!r} is not registered on this hub")
        deployment = self.get_argument("lti_deployment_id", "")
        if deployment and not auth.deployment_allowed(deployment):
            raise web.HTTPError(403, f"lti_deployment_id: {deployment!r} is not a deployment "
                                     "this hub accepts")
        return super().post()

    get = post

    def _set_oauth_cookie(self, key, value):
        # the platform posts the id_token from its own site: on HTTPS the state and nonce
        # cookies must travel with that cross-site POST (SameSite=None needs Secure)
        options = {"expires_days": 1, "httponly": True, "encrypted": True}
        if self.authenticator.get_uri_scheme(self.request) == "https":
            options.update(samesite="None", secure=True)
        self._set_cookie(key, value, **options)


class LmsLTI13CallbackHandler(LTI13CallbackHandler):
    """The signed launch: checked, then the learner's cohort, lesson and passback claim."""

    _id_token: dict | None = None
    _deep_link = False

    def decode_and_validate_launch_request(self):
        id_token = super().decode_and_validate_launch_request()
        auth = self.authenticator
        deployment = id_token.get(CLAIM + "deployment_id", "")
        if not auth.deployment_allowed(deployment):
            raise web.HTTPError(403, f"deployment_id: {deployment!r} is not a deployment this "
                                     "hub accepts")
        message_type = id_token.get(CLAIM + "message_type")
        if message_type == "LtiDeepLinkingRequest":
            if not auth.may_deep_link(id_token):
                raise web.HTTPError(403, "roles: only the course's instructors and "
                                         "administrators choose lessons (content selection)")
            lti_deep_link.settings_of(id_token)
            self._deep_link = True
        elif message_type != "LtiResourceLinkRequest":
            raise web.HTTPError(400, f"message_type: {message_type!r} is not taken; resource "
                                     "link launches and content selection are")
        if not auth.take_nonce(id_token.get("nonce", ""), id_token.get("exp", 0)):
            raise web.HTTPError(400, "nonce: this launch was used before (a replayed id_token)")
        self._id_token = id_token
        return id_token

    async def redirect_to_next_url(self, user):
        token = self._id_token or {}
        cohort = await self.authenticator.join_cohort(self.db, user.orm_user, token)
        if self._deep_link:
            pending = self.authenticator.deep_links.add(lti_deep_link.pending_from(
                token, user.name, self.authenticator.deep_link_timeout))
            path = url_path_join(self.hub.base_url, "lti13/deep-link")
            self.redirect(f"{path}?request={pending.id}")
            return
        lesson = self.authenticator.lesson_of(token)
        await self.authenticator.record_launch(user.name, token, cohort, lesson)
        if lesson:
            self.redirect(url_path_join(self.hub.base_url, "lms/open", *lesson.split("/")))
            return
        await super().redirect_to_next_url(user)


class LmsLTI13Authenticator(LTI13Authenticator):
    """See the module docstring; settings in README.md ("LTI 1.3")."""

    login_handler = LmsLTI13LoginInitHandler
    callback_handler = LmsLTI13CallbackHandler

    deployment_ids = Set(
        Unicode(), config=True,
        help="""Deployment ids of the platform that may launch (the
        ``…/claim/deployment_id`` of the id_token, and ``lti_deployment_id`` of the login
        initiation). Empty: none may; a launch from another deployment gets HTTP 403.""",
    )
    cohort_prefix = Unicode(
        "lti-", config=True,
        help="""Start of the name of the hub group (cohort) made for each LMS context.""",
    )
    instructor_roles = Set(
        Unicode(), default_value={"Instructor", "TeachingAssistant", "Administrator"},
        config=True,
        help="""LTI context roles (the part after ``#``) whose holders join
        ``<cohort>-instructors`` instead of the cohort itself.""",
    )
    deep_link_roles = Set(
        Unicode(), default_value={"Instructor", "Administrator", "ContentDeveloper"},
        config=True,
        help="""LTI roles (the part after ``#``: context roles, and the institution's or system's
        ``Administrator``) whose holders may choose lessons in a content selection
        (``LtiDeepLinkingRequest``); anyone else's gets HTTP 403.""",
    )
    deep_link_timeout = Float(
        1800, config=True,
        help="""Seconds a content selection may take between the platform's launch and the
        staff member's choice; after that it must be started again in the LMS.""",
    )
    tool_key_path = Unicode(
        "", config=True,
        help="""The tool's RSA private key (PEM); its public key is served at
        ``/hub/lti13/jwks``. hub_config makes it in the state dir.""",
    )
    launch_record_url = Unicode(
        "", config=True,
        help="""Where each launch's passback details go (the LMS service's
        ``/api/lti/launches``); empty: nowhere.""",
    )
    launch_record_token = Unicode(
        "", config=True, help="""The hub token (scope ``custom:lms:lti``) for launch_record_url.""",
    )
    launch_record_timeout = Float(
        5, config=True, help="""Seconds a launch waits for the LMS service to record it.""",
    )

    @default("username_key")
    def _sub(self):
        return "sub"  # stable and present in every launch; email may change or be withheld

    def get_handlers(self, app):
        return (super().get_handlers(app) + [(r"/lti13/jwks", ToolJwksHandler)]
                + lti_deep_link.handlers)

    def get_username(self, token):
        name = re.sub(r"[^a-z0-9._-]+", "-", str(super().get_username(token)).lower())
        name = name.strip("-.")[:100]
        if not name:
            raise LoginError(f"{self.username_key}: no usable user name in the launch")
        return name

    async def authenticate(self, handler, data=None):
        model = await super().authenticate(handler, data)
        model["auth_state"] = None  # the id_token is not kept with the user
        return model

    # -- checks ----------------------------------------------------------------------------------

    def deployment_allowed(self, deployment: str) -> bool:
        return bool(deployment) and deployment in self.deployment_ids

    _nonces: dict | None = None

    def take_nonce(self, nonce: str, exp: float) -> bool:
        """True the first time ``nonce`` is seen (until its id_token expires)."""
        if self._nonces is None:
            self._nonces = {}
        now = time.time()
        for old in [n for n, until in self._nonces.items() if until < now]:
            del self._nonces[old]
        if not nonce or nonce in self._nonces:
            return False
        self._nonces[nonce] = max(float(exp or 0), now) + 60
        return True

    # -- what a launch brings ---------------------------------------------------------------------

    def cohort_of(self, token: dict) -> str | None:
        context = token.get(CLAIM + "context") or {}
        if not context.get("id"):
            return None
        digest = hashlib.sha256(f"{token.get('iss')}|{context['id']}".encode()).hexdigest()[:6]
        label = slug(str(context.get("label") or context.get("title") or "")) or "course"
        return f"{self.cohort_prefix}{label}-{digest}"

    def lesson_of(self, token: dict) -> str:
        custom = token.get(CLAIM + "custom") or {}
        lesson = str(custom.get("lesson") or "").strip()
        if LESSON.match(lesson):
            return lesson
        if lesson:
            self.log.warning("LTI launch: custom lesson=%r is not <course>/<lesson>", lesson)
        found = OPEN_PATH.search(str(token.get(CLAIM + "target_link_uri") or ""))
        return f"{found.group(1)}/{found.group(2)}" if found else ""

    _deep_links: lti_deep_link.DeepLinkRequests | None = None

    @property
    def deep_links(self) -> lti_deep_link.DeepLinkRequests:
        """Content selections between launch and choice (lms_spawner.lti_deep_link)."""
        if self._deep_links is None:
            self._deep_links = lti_deep_link.DeepLinkRequests()
        return self._deep_links

    def may_deep_link(self, token: dict) -> bool:
        return bool(role_names(token.get(CLAIM + "roles")) & self.deep_link_roles)

    def is_instructor(self, token: dict) -> bool:
        return bool(role_names(token.get(CLAIM + "roles")) & self.instructor_roles)

    async def join_cohort(self, db, orm_user, token: dict) -> str | None:
        """Put the user in the context's cohort (or its instructors); returns the cohort."""
        cohort = self.cohort_of(token)
        if cohort is None:
            return None
        name = f"{cohort}-instructors" if self.is_instructor(token) else cohort
        group = orm.Group.find(db, name)
        if group is None:
            group = orm.Group(name=name)
            db.add(group)
            self.log.info("LTI launch: new cohort group %s", name)
        if group not in orm_user.groups:
            orm_user.groups.append(group)
        db.commit()
        return cohort

    async def record_launch(self, user: str, token: dict, cohort, lesson: str) -> None:
        ags = token.get(AGS_CLAIM) or {}
        if not self.launch_record_url or not ags.get("lineitem"):
            return
        context = token.get(CLAIM + "context") or {}
        custom = token.get(CLAIM + "custom") or {}
        course = str(custom.get("course") or (lesson.split("/")[0] if lesson else ""))
        if not course:
            self.log.warning("LTI launch of %s: no lesson= or course= in the launch, so its "
                             "line item scores nothing", user)
            return
        aud = token.get("aud")
        body = {
            "user": user, "sub": token.get("sub"), "course": course, "lesson": lesson or None,
            "lineitem": ags["lineitem"], "scope": ags.get("scope", []),
            "issuer": token.get("iss"),
            "client_id": token.get("azp") or (aud[0] if isinstance(aud, list) else aud),
            "deployment_id": token.get(CLAIM + "deployment_id"),
            "context": {"id": context.get("id", ""), "label": context.get("label", ""),
                        "title": context.get("title", ""), "cohort": cohort or ""},
        }
        request = HTTPRequest(
            self.launch_record_url, method="POST", body=json.dumps(body),
            headers={"Authorization": f"token {self.launch_record_token}",
                     "Content-Type": "application/json"},
            request_timeout=self.launch_record_timeout,
        )
        try:
            await AsyncHTTPClient().fetch(request)
        except Exception as exc:  # the launch goes on; passback for it will be missing
            self.log.warning("LTI launch of %s: the LMS service did not record it (%s)", user, exc)
