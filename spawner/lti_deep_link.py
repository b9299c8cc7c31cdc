"""LTI Deep Linking 2.0 (content selection): the school's staff pick lessons from inside their LMS.

The platform launches the tool with an ``LtiDeepLinkingRequest`` (Moodle's "Select content",
Canvas's deep-linking placements) to the same login initiation and redirect URIs as any launch.
:class:`~lms_spawner.lti.LmsLTI13CallbackHandler` checks it like every launch (signature, issuer,
audience, deployment, nonce), refuses it (403) unless the user holds a deep-linking role of the
context (``LmsLTI13Authenticator.deep_link_roles``) and (400) unless the request's
``deep_linking_settings`` accept ``ltiResourceLink`` items and name a return URL, logs the user
in as usual and keeps the settings here, server-side, bound to that user, under a random id
(:class:`DeepLinkRequests`, for ``deep_link_timeout`` seconds, used once).

``GET /hub/lti13/deep-link?request=<id>`` lists the live courses and their lessons in course
order; the XSRF-protected form POSTs the chosen lessons back to the same URL, which answers with
an auto-submitting form that POSTs ``JWT=<LtiDeepLinkingResponse>`` to the platform's
``deep_link_return_url``: signed RS256 with the tool's key (``kid`` as in ``/hub/lti13/jwks``),
one ``ltiResourceLink`` content item per lesson (its ``url`` the hub's ``/hub/lms/open/<course>/
<lesson>``, ``custom: {"lesson": "<course>/<lesson>"}``, a ``lineItem`` when the platform accepts
line items) and the request's ``data`` echoed back. Only the user who launched may see or post a
request; a used, expired or unknown one is refused.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlparse

import jwt
from jupyterhub.handlers.base import BaseHandler
from jupyterhub.utils import url_path_join
from tornado import web

from lms_extension.i18n import localized

from .content_source import ContentUnavailable
from .language import current_language
from .lti_keys import key_id, load_private_key

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
SETTINGS_CLAIM = DL_CLAIM + "deep_linking_settings"
RESOURCE_LINK = "ltiResourceLink"
REQUEST_ID = r"[A-Za-z0-9_-]{16,64}"


@dataclass
class PendingDeepLink:
    """A deep-linking request between the launch and the staff member's choice."""

    user: str
    issuer: str
    client_id: str
    deployment_id: str
    return_url: str
    accept_multiple: bool
    accept_lineitem: bool
    data: str | None
    context_title: str
    platform_name: str
    expires: float
    id: str = field(default_factory=lambda: secrets.token_urlsafe(24))


class DeepLinkRequests:
    """The pending requests of this hub process, by id (a restart forgets them: the staff member
    starts the content selection again in the LMS)."""

    def __init__(self):
        self._pending: dict[str, PendingDeepLink] = {}

    def _purge(self, now: float) -> None:
        for key in [k for k, p in self._pending.items() if p.expires < now - 3600]:
            del self._pending[key]

    def add(self, pending: PendingDeepLink) -> PendingDeepLink:
        self._purge(time.time())
        self._pending[pending.id] = pending
        return pending

    def get(self, request_id: str) -> PendingDeepLink | None:
        return self._pending.get(request_id)

    def take(self, request_id: str) -> PendingDeepLink | None:
        return self._pending.pop(request_id, None)


def settings_of(token: dict) -> dict:
    """The request's ``deep_linking_settings``, checked; HTTP 400 naming what is wrong."""
    settings = token.get(SETTINGS_CLAIM)
    if not isinstance(settings, dict):
        raise web.HTTPError(400, "deep_linking_settings: the content selection request has none")
    url = str(settings.get("deep_link_return_url") or "")
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise web.HTTPError(400, "deep_linking_settings.deep_link_return_url: "
                                 f"{url!r} is not an http(s) URL")
    types = settings.get("accept_types")
    if not isinstance(types, list) or RESOURCE_LINK not in types:
        raise web.HTTPError(400, f"deep_linking_settings.accept_types: {types!r} does not "
                                 f"include {RESOURCE_LINK!r}: this tool offers lessons only as "
                                 "LTI resource links")
    return settings


def pending_from(token: dict, user: str, timeout: float) -> PendingDeepLink:
    settings = settings_of(token)
    aud = token.get("aud")
    client_id = token.get("azp") or (aud[0] if isinstance(aud, list) else aud)
    data = settings.get("data")
    context = token.get(CLAIM + "context") or {}
    platform = token.get(CLAIM + "tool_platform") or {}
    return PendingDeepLink(
        user=user, issuer=str(token.get("iss")), client_id=str(client_id),
        deployment_id=str(token.get(CLAIM + "deployment_id")),
        return_url=str(settings["deep_link_return_url"]),
        accept_multiple=settings.get("accept_multiple") is True,
        accept_lineitem=settings.get("accept_lineitem") is True,
        data=None if data is None else str(data),
        context_title=str(context.get("title") or context.get("label") or ""),
        platform_name=str(platform.get("name") or urlparse(str(token.get("iss"))).netloc),
        expires=time.time() + timeout,
    )


def content_item(key: str, title: str, url: str, lineitem: bool) -> dict:
    """One lesson as an ``ltiResourceLink`` content item."""
    item = {"type": RESOURCE_LINK, "title": title, "url": url, "custom": {"lesson": key}}
    if lineitem:
        item["lineItem"] = {"scoreMaximum": 1, "label": title, "resourceId": key}
    return item


def response_jwt(pending: PendingDeepLink, items: list[dict], key_path: str,
                 lifetime: int = 600) -> str:
    """The signed ``LtiDeepLinkingResponse`` for ``pending`` with ``items``."""
    now = int(time.time())
    claims = {
        "iss": pending.client_id, "aud": pending.issuer, "iat": now, "exp": now + lifetime,
        "nonce": uuid.uuid4().hex,
        CLAIM + "message_type": "LtiDeepLinkingResponse", CLAIM + "version": "1.3.0",
        CLAIM + "deployment_id": pending.deployment_id,
        DL_CLAIM + "content_items": items,
    }
    if pending.data is not None:
        claims[DL_CLAIM + "data"] = pending.data
    return jwt.encode(claims, load_private_key(key_path), algorithm="RS256",
                      headers={"kid": key_id(key_path)})


class DeepLinkHandler(BaseHandler):
    """``/hub/lti13/deep-link``: the lessons to choose (GET) and the choice (POST)."""

    @property
    def content_security_policy(self):
        # platforms show content selection in a frame of their own pages
        policy = super().content_security_policy
        origin = urlparse(self.authenticator.issuer or "")
        if origin.scheme and origin.netloc:
            policy = policy.replace("frame-ancestors 'none'",
                                    f"frame-ancestors 'self' {origin.scheme}://{origin.netloc}")
        return policy

    def _pending(self, request_id: str) -> PendingDeepLink:
        if not request_id:
            raise web.HTTPError(400, "request: missing: start the content selection in your LMS")
        pending = self.authenticator.deep_links.get(request_id)
        if pending is None:
            raise web.HTTPError(404, "request: no such content selection (used, expired or "
                                     "never made): start it again in your LMS")
        user = self.current_user
        if getattr(user, "name", None) != pending.user:
            raise web.HTTPError(403, "request: this content selection was started by someone "
                                     "else")
        if pending.expires < time.time():
            self.authenticator.deep_links.take(request_id)
            raise web.HTTPError(410, "request: this content selection has expired: start it "
                                     "again in your LMS")
        return pending

    async def _courses(self):
        spawner = self.current_user.spawner
        try:
            catalog = (await spawner.content.current()).catalog
        except ContentUnavailable as exc:
            raise web.HTTPError(503, str(exc)) from None
        lang = current_language()
        courses = []
        for course in catalog.courses.values():
            lessons = [{"key": f"{course.slug}/{lesson.slug}",
                        "title": localized(lesson.titles or lesson.title, lang)}
                       for lesson in course.lessons]
            courses.append({"slug": course.slug, "lessons": lessons,
                            "title": localized(course.titles or course.title, lang)})
        return courses

    async def _page(self, pending, courses, chosen=(), error=None):
        html = await self.render_template(
            "lms_lti_deep_link.html", pending=pending, courses=courses, chosen=set(chosen),
            error=error, action=url_path_join(self.hub.base_url, "lti13/deep-link"))
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(html)

    @web.authenticated
    async def get(self):
        pending = self._pending(self.get_query_argument("request", ""))
        await self._page(pending, await self._courses())

    @web.authenticated
    async def post(self):
        pending = self._pending(self.get_body_argument("request", ""))
        courses = await self._courses()
        titles = {lesson["key"]: lesson["title"] for c in courses for lesson in c["lessons"]}
        chosen = [key.strip() for key in self.get_body_arguments("lesson")]
        error = None
        if not chosen:
            error = ("lesson: choose a lesson", {})
        elif len(chosen) > 1 and not pending.accept_multiple:
            error = ("lesson: your LMS takes one lesson here: choose one", {})
        elif unknown := [key for key in chosen if key not in titles]:
            error = ("lesson: {key} is not a lesson of the live courses", {"key": unknown[0]})
        if error:
            self.set_status(400)
            await self._page(pending, courses, chosen, error)
            return
        if self.authenticator.deep_links.take(pending.id) is None:
            raise web.HTTPError(404, "request: this content selection was just used")
        origin = f"{self.authenticator.get_uri_scheme(self.request)}://{self.request.host}"
        items = [content_item(key, titles[key],
                              origin + url_path_join(self.hub.base_url, "lms/open", key),
                              pending.accept_lineitem)
                 for key in dict.fromkeys(chosen)]
        token = response_jwt(pending, items, self.authenticator.tool_key_path)
        self.log.info("LTI deep link: %s chose %s for %s", pending.user,
                      ", ".join(item["custom"]["lesson"] for item in items), pending.issuer)
        html = await self.render_template("lms_lti_deep_link_return.html", pending=pending,
                                          jwt=token, items=items)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(html)


handlers = [(r"/lti13/deep-link", DeepLinkHandler)]
