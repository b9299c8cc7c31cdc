"""The dashboard's staff screens: cohorts (create, bind, learners and instructors; admins),
a cohort's deadlines (extensions; admins and the cohort's instructors) and the content versions
with the refused commits (admins). Each is behind the same authorization as its API
(:mod:`.staff_api`) and does its work through the same functions. Forms post back to their
page, carry the hub's XSRF token (a cross-site post is refused before anything is read), are
validated on the server and shown again with a message under the field at fault."""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from tornado import web
from tornado.escape import url_escape
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from lms_extension.content.due import due_at

from .cohort_admin import add_members, bind_cohort, create_cohort, instructors_group, \
    remove_member
from .content_history import content_history
from .dashboard import PageHandler
from .db import Cohort, Extension, Progress
from .deadlines import EVERY_LESSON, WHOLE_COHORT, cohort_for_deadlines, extend, \
    extension_row, remove_extension
from .fields import FieldError, parse_days, parse_start, split_names
from .progress import DELAYED, as_utc
from .staff_api import staff_api_routes

NAME = r"[^/]+"


class StaffPage(PageHandler):
    """A staff page with forms: the XSRF token, field messages, the admin check."""

    def form(self, name: str, default: str = "") -> str:
        return self.get_body_argument(name, default).strip()

    def render_form(self, template: str, errors: dict | None = None, **context) -> None:
        if errors:
            self.set_status(400)
        form = {k: self.get_body_argument(k, "") for k in self.request.body_arguments}
        self.render_page(template, xsrf=self.xsrf_token.decode("ascii"), errors=errors or {},
                         form=form, **context)

    def done(self, actions) -> str | None:
        """The action a redirect after a form reports as done (``?done=``)."""
        done = self.get_query_argument("done", "")
        return done if done in actions else None

    async def admin(self):
        viewer = await self.viewer()
        if not viewer.admin:
            raise web.HTTPError(403, f"{viewer.name} may not manage cohorts: only hub admins may")
        return viewer

    def courses(self) -> dict:
        return self.service.content.index.courses


class CohortsPage(StaffPage):
    """Every cohort, and the form that creates one."""

    async def show(self, viewer, errors=None):
        cohorts = await self.service.run_db(
            lambda s: list(s.scalars(select(Cohort).order_by(Cohort.group))))
        rows = []
        for c in cohorts:
            rows.append({"group": c.group, "course": c.course, "start": as_utc(c.start),
                         "learners": len(await self.service.hub.members(c.group)),
                         "instructors": len(await self.service.hub.members(
                             instructors_group(c.group)))})
        self.render_form("staff_cohorts.html", errors, viewer=viewer, cohorts=rows,
                         courses=self.courses())

    @web.authenticated
    async def get(self):
        await self.show(await self.admin())

    @web.authenticated
    async def post(self):
        viewer = await self.admin()
        group = self.form("group")
        try:
            start = parse_start(self.form("start"))
            await create_cohort(self.service, group, self.form("course"), start)
        except FieldError as exc:
            return await self.show(viewer, {exc.field: exc})
        self.redirect(f"{self.service.base_url}cohorts/{url_escape(group, plus=False)}"
                      "?done=create", status=303)


class CohortPage(StaffPage):
    """One cohort: its binding, its learners and its instructors."""

    ACTIONS = ("create", "bind", "add-learners", "remove-learner", "add-instructors",
               "remove-instructor")

    async def show(self, viewer, group, errors=None):
        cohort = await self.service.run_db(lambda s: s.get(Cohort, group))
        if cohort is None:
            raise web.HTTPError(404, f"group: {group!r} is not a cohort")
        self.render_form(
            "staff_cohort.html", errors, viewer=viewer, cohort=cohort, start=as_utc(cohort.start),
            courses=self.courses(), done=self.done(self.ACTIONS),
            learners=await self.service.hub.members(group),
            instructors=await self.service.hub.members(instructors_group(group)))

    @web.authenticated
    async def get(self, group):
        await self.show(await self.admin(), group)

    @web.authenticated
    async def post(self, group):
        viewer = await self.admin()
        action = self.form("action")
        service = self.service
        try:
            if action == "bind":
                start = parse_start(self.form("start"))
                await bind_cohort(service, group, self.form("course"), start)
            elif action in ("add-learners", "add-instructors"):
                names = split_names(self.form("users"))
                await add_members(service, group, names, action == "add-instructors")
            elif action in ("remove-learner", "remove-instructor"):
                await remove_member(service, group, self.form("user"),
                                    action == "remove-instructor")
            else:
                raise FieldError("action", "'{value}' is not a known action", value=action)
        except FieldError as exc:
            return await self.show(viewer, group, {f"{action}:{exc.field}": exc})
        self.redirect(f"{self.service.base_url}cohorts/{url_escape(group, plus=False)}"
                      f"?done={action}", status=303)


class DeadlinesPage(StaffPage):
    """A cohort's due dates, extensions and delayed learners; extend or remove extensions."""

    ACTIONS = ("extend", "remove")

    async def show(self, viewer, group, errors=None):
        cohort = await cohort_for_deadlines(self.service, viewer, group)
        service = self.service
        learners = await service.hub.members(group)
        course = self.courses().get(cohort.course)
        start = as_utc(cohort.start)
        lessons = []
        for lesson in (course or {}).get("lessons", []):
            due = due_at(start, lesson["due"]) if lesson.get("due") else None
            lessons.append({"slug": lesson["slug"], "due": due,
                            "title": lesson.get("titles") or lesson["title"]})
        extensions = await service.run_db(lambda s: list(s.scalars(
            select(Extension).where(Extension.group == group)
            .order_by(Extension.user, Extension.lesson))))
        delayed_rows = await service.run_db(lambda s: list(s.execute(
            select(Progress.user, Progress.lesson).where(
                Progress.course == cohort.course, Progress.status == DELAYED,
                Progress.user.in_(learners))).all())) if learners else []
        delayed: dict[str, list[str]] = {}
        for user, lesson in sorted(delayed_rows):
            delayed.setdefault(user, []).append(lesson)
        titles = {x["slug"]: x["title"] for x in lessons}
        self.render_form("staff_deadlines.html", errors, viewer=viewer, cohort=cohort,
                         start=start, learners=learners, lessons=lessons, titles=titles,
                         extensions=[extension_row(e) for e in extensions], delayed=delayed,
                         done=self.done(self.ACTIONS))

    @web.authenticated
    async def get(self, group):
        await self.show(await self.viewer(), group)

    @web.authenticated
    async def post(self, group):
        viewer = await self.viewer()
        await cohort_for_deadlines(self.service, viewer, group)  # 403/404 before reading
        action = self.form("action")
        user = self.form("user", WHOLE_COHORT)
        lesson = self.form("lesson", EVERY_LESSON)
        try:
            if action == "extend":
                days = parse_days(self.form("days"))
                await extend(self.service, viewer, group, user, lesson, days)
            elif action == "remove":
                try:
                    await remove_extension(self.service, viewer, group, user, lesson)
                except web.HTTPError as exc:
                    if exc.status_code != 404:
                        raise
                    raise FieldError("extension", "there is no such extension") from None
            else:
                raise FieldError("action", "'{value}' is not a known action", value=action)
        except FieldError as exc:
            return await self.show(viewer, group, {f"{action}:{exc.field}": exc})
        self.redirect(f"{self.service.base_url}cohorts/{url_escape(group, plus=False)}/deadlines"
                      f"?done={action}", status=303)


class ContentPage(StaffPage):
    """The content versions (live, earlier), the refused commits with the validator's lines,
    and what the hub's own content follower says."""

    async def hub_view(self) -> dict | None:
        """The hub's ``GET /hub/api/lms/content``, asked with the admin's own login (its
        token holds ``custom:lms:admin``, which the hub requires of an admin)."""
        token = self.hub_auth.get_token(self)
        if not token:
            return None
        request = HTTPRequest(f"{self.service.hub.api_url}/lms/content",
                              headers={"Authorization": f"token {token}"}, request_timeout=10)
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
            data = json.loads(response.body) if response.code == 200 else None
        except Exception:  # noqa: BLE001 - the page shows that the hub did not answer
            self.log.warning("the hub's content status could not be read", exc_info=True)
            return None
        return data if isinstance(data, dict) else None

    @web.authenticated
    async def get(self):
        viewer = await self.admin()
        live = self.service.content.index.sha or None
        history = await self.service.run_db(lambda s: content_history(s, live))
        self.render_form("staff_content.html", viewer=viewer, history=history,
                         status=self.service.content.status(), hub_status=await self.hub_view())


def staff_routes(base: str) -> list[tuple]:
    """The staff pages and the staff API, under the service's ``base`` URL."""
    root = re.escape(base.rstrip("/"))
    return [
        (rf"{root}/cohorts", CohortsPage),
        (rf"{root}/cohorts/({NAME})", CohortPage),
        (rf"{root}/cohorts/({NAME})/deadlines", DeadlinesPage),
        (rf"{root}/content", ContentPage),
    ] + staff_api_routes(f"{root}/api", NAME)
