"""Who is asking: hub-token authentication for the API and what each role may see.

A learner sees only their own data. An instructor holds the custom scope
``custom:lms:instructor!group=<cohort>`` for each cohort they teach (unfiltered: every cohort).
A hub admin sees everything, with a token that holds ``custom:lms:admin``: their dashboard login
and their own API tokens do, the tokens of their lesson servers never (``server_token_scopes``),
so code in a lesson server cannot use its owner's admin rights here. A service is an admin here
when its token holds the scope.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from jupyterhub.services.auth import HubAuthenticated, UserNotAllowed
from tornado import web

INSTRUCTOR_SCOPE = "custom:lms:instructor"
ADMIN_SCOPE = "custom:lms:admin"


@dataclass(frozen=True)
class Viewer:
    name: str
    admin: bool
    teaches: frozenset[str] | None  # cohorts taught; None: every cohort

    @classmethod
    def from_model(cls, model: dict) -> Viewer:
        scopes = set(model.get("scopes") or [])
        owner_is_admin = model.get("kind") == "service" or model.get("admin") is True
        admin = ADMIN_SCOPE in scopes and owner_is_admin
        if admin or INSTRUCTOR_SCOPE in scopes:
            teaches = None
        else:
            prefix = f"{INSTRUCTOR_SCOPE}!group="
            teaches = frozenset(s[len(prefix):] for s in scopes if s.startswith(prefix))
        return cls(name=model["name"], admin=admin, teaches=teaches)

    @property
    def is_instructor(self) -> bool:
        return self.teaches is None or bool(self.teaches)

    def teaches_cohort(self, group: str) -> bool:
        return self.admin or self.teaches is None or group in self.teaches

    async def may_see(self, user: str, hub) -> bool:
        """Whether this viewer may read ``user``'s data. The hub is asked only about the
        cohorts this viewer teaches, never about ``user``: a name a viewer may not see gets
        the same answer whether it exists or not."""
        if self.admin or self.teaches is None or user == self.name:
            return True
        for group in sorted(self.teaches):
            if user in await hub.members(group):
                return True
        return False


class ApiHandler(HubAuthenticated, web.RequestHandler):
    """Base of every API handler: a valid hub token with access to this service, or 401/403."""

    viewer: Viewer

    @property
    def hub_auth(self):
        return self.settings["hub_auth"]

    @property
    def service(self):
        return self.settings["lms"]

    def check_xsrf_cookie(self):
        """Token-authenticated API: no cookies are accepted, so no cross-site forgery to check."""

    async def prepare(self):
        token = self.hub_auth.get_token(self)
        if not token:
            raise web.HTTPError(401, "a hub token is needed (Authorization: token …)")
        model = await self.hub_auth.user_for_token(token, use_cache=True, sync=False)
        if not model:
            raise web.HTTPError(401, "the token is not valid")
        try:
            model = self.check_hub_user(model)
        except UserNotAllowed:
            raise web.HTTPError(403, f"{model['name']} may not use the LMS service") from None
        self.viewer = Viewer.from_model(model)

    def get_current_user(self):
        return getattr(self, "viewer", None)

    def write_error(self, status_code, **kwargs):
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            reason = exc.log_message % exc.args if exc.args else exc.log_message
        answer = {"status": status_code, "message": reason}
        for extra in ("field", "limit"):  # e.g. ingest.EnvelopeError
            if getattr(exc, extra, None) is not None:
                answer[extra] = getattr(exc, extra)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(answer))

    def send(self, data, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=str))

    def forbid(self, what: str):
        raise web.HTTPError(403, f"{self.viewer.name} may not see {what}")

    def require_admin(self):
        if not self.viewer.admin:
            raise web.HTTPError(403, "only hub admins may do this")
