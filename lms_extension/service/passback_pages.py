"""The dashboard's page of grade passback (admins): the scores waiting for the school's LMS and
those it never took, with a button that sends a failed one again. The form carries the hub's
XSRF token like the other staff screens (:mod:`.staff`)."""

from __future__ import annotations

import re

from tornado import web

from .fields import FieldError
from .lti_launches import (
    LaunchesHandler,
    PassbackRetryHandler,
    PassbacksHandler,
    list_passbacks,
    retry,
)
from .lti_store import OPEN
from .staff import StaffPage


class PassbacksPage(StaffPage):
    ACTIONS = ("retry",)

    async def admin(self):
        viewer = await self.viewer()
        if not viewer.admin:
            raise web.HTTPError(403, f"{viewer.name} may not see grade passback: only hub "
                                "admins may")
        return viewer

    async def show(self, viewer, errors=None):
        service = self.service
        rows = await service.run_db(lambda s: list_passbacks(s, OPEN))
        index = service.content.index
        titles = {}
        for row in rows:
            course = index.courses.get(row["course"])
            lesson = index.lesson(row["course"], row["lesson"]) if row["lesson"] else None
            title = (lesson and (lesson["titles"] or lesson["title"])) or \
                (course and (course.get("titles") or course["title"])) or row["course"]
            titles[row["id"]] = title
        self.render_form(
            "lti_passbacks.html", errors, viewer=viewer, enabled=service.passback.enabled,
            pending=[r for r in rows if r["status"] == "pending"],
            failed=[r for r in rows if r["status"] == "failed"], titles=titles,
            max_attempts=service.passback.max_attempts, done=self.done(self.ACTIONS))

    @web.authenticated
    async def get(self):
        await self.show(await self.admin())

    @web.authenticated
    async def post(self):
        viewer = await self.admin()
        action = self.form("action")
        try:
            if action != "retry":
                raise FieldError("action", "'{value}' is not a known action", value=action)
            ident = self.form("id")
            if not ident.isdigit():
                raise FieldError("id", "'{value}' is not a passback", value=ident)
            try:
                await retry(self.service, int(ident))
            except web.HTTPError as exc:
                if exc.status_code != 404:
                    raise
                raise FieldError("id", "passback {value} is not failed (any more)",
                                 value=ident) from None
        except FieldError as exc:
            return await self.show(viewer, {f"{action}:{exc.field}": exc})
        self.redirect(f"{self.service.base_url}lti/passbacks?done=retry", status=303)


def lti_routes(base: str) -> list[tuple]:
    """The LTI routes: the API (:mod:`.lti_launches`) and the passback page."""
    root = re.escape(base.rstrip("/"))
    return [
        (rf"{root}/api/lti/launches", LaunchesHandler),
        (rf"{root}/api/lti/passbacks", PassbacksHandler),
        (rf"{root}/api/lti/passbacks/([^/]+)/retry", PassbackRetryHandler),
        (rf"{root}/lti/passbacks", PassbacksPage),
    ]
