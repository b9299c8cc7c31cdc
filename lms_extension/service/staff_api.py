"""The staff API: cohorts' members and instructors, deadline extensions for a learner or a
whole cohort, the content versions with the refused commits, and the learners newly delayed.
The dashboard's staff pages (:mod:`.staff`) do the same through the same functions, behind the
same authorization."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, StringConstraints
from tornado import web

from lms_extension.content.model import Slug

from .auth import ApiHandler
from .cohort_admin import add_members, create_cohort, remove_member
from .content_history import content_history
from .deadlines import (
    EVERY_LESSON,
    WHOLE_COHORT,
    extend,
    list_extensions,
    newly_delayed,
    remove_extension,
)
from .fields import MAX_NAMES, FieldError, parse_start
from .payloads import ExtensionIn, PayloadError, _Strict, parse

UserName = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class CohortCreateIn(_Strict):
    group: str = Field(max_length=100, description="the new cohort's hub group")
    course: Slug
    start: str = Field(max_length=64, description="a date (midnight UTC) or a date-time with "
                                                  "a time zone")


class MembersIn(_Strict):
    users: list[UserName] = Field(min_length=1, max_length=MAX_NAMES)


class StaffApiHandler(ApiHandler):
    def body_as(self, model):
        try:
            return parse(model, self.request.body, self.service.max_body_bytes)
        except PayloadError as exc:
            field, _, message = str(exc).partition(": ")
            raise FieldError(field, message) from None


async def create_from_api(handler: ApiHandler) -> None:
    """``POST api/cohorts``: a new cohort (its hub groups, bound to a course)."""
    handler.require_admin()
    body = StaffApiHandler.body_as(handler, CohortCreateIn)
    created = await create_cohort(handler.service, body.group, body.course,
                                  parse_start(body.start))
    handler.send(created, status=201)


class MembersHandler(StaffApiHandler):
    instructors = False

    async def post(self, group):
        self.require_admin()
        body = self.body_as(MembersIn)
        self.send(await add_members(self.service, group, body.users, self.instructors))


class MemberHandler(StaffApiHandler):
    instructors = False

    async def delete(self, group, user):
        self.require_admin()
        self.send(await remove_member(self.service, group, user, self.instructors))


class InstructorsHandler(MembersHandler):
    instructors = True


class InstructorHandler(MemberHandler):
    instructors = True


class _ExtensionMixin:
    async def _put(self, group, user):
        body = self.body_as(ExtensionIn)
        self.send(await extend(self.service, self.viewer, group, user, body.lesson, body.days))

    async def _delete(self, group, user):
        lesson = self.get_argument("lesson", EVERY_LESSON)
        await remove_extension(self.service, self.viewer, group, user, lesson)
        self.set_status(204)
        self.finish()


class CohortExtensionsHandler(_ExtensionMixin, StaffApiHandler):
    """The extensions of a cohort; ``PUT``/``DELETE``: the one for the whole cohort."""

    async def get(self, group):
        self.send({"group": group,
                   "extensions": await list_extensions(self.service, self.viewer, group)})

    async def put(self, group):
        await self._put(group, WHOLE_COHORT)

    async def delete(self, group):
        await self._delete(group, WHOLE_COHORT)


class ExtensionHandler(_ExtensionMixin, StaffApiHandler):
    """One learner's extension (``?lesson=`` for ``DELETE``; none: every lesson)."""

    async def put(self, group, user):
        await self._put(group, user)

    async def delete(self, group, user):
        await self._delete(group, user)


class ContentVersionsHandler(StaffApiHandler):
    async def get(self):
        self.require_admin()
        live = self.service.content.index.sha or None
        history = await self.service.run_db(lambda s: content_history(s, live))
        self.send({**history, "last_sync_refused": self.service.content.status()["refused"]})


class DelayedHandler(StaffApiHandler):
    async def get(self):
        if not (self.viewer.admin or self.viewer.is_instructor):
            raise web.HTTPError(403, f"{self.viewer.name} may not see delayed learners")
        try:
            days = float(self.get_argument("days", "7"))
        except ValueError:
            raise FieldError("days", "must be a number") from None
        if not 0 < days <= 365:
            raise FieldError("days", "must be more than 0 and at most 365")
        learners = await newly_delayed(self.service, self.viewer, timedelta(days=days))
        self.send({"days": days, "learners": learners})


def staff_api_routes(api: str, name: str) -> list[tuple]:
    return [
        (rf"{api}/cohorts/({name})/members", MembersHandler),
        (rf"{api}/cohorts/({name})/members/({name})", MemberHandler),
        (rf"{api}/cohorts/({name})/instructors", InstructorsHandler),
        (rf"{api}/cohorts/({name})/instructors/({name})", InstructorHandler),
        (rf"{api}/cohorts/({name})/extensions", CohortExtensionsHandler),
        (rf"{api}/cohorts/({name})/extensions/({name})", ExtensionHandler),
        (rf"{api}/content/versions", ContentVersionsHandler),
        (rf"{api}/delayed", DelayedHandler),
    ]


def staff_openapi_paths(op) -> dict:
    """The OpenAPI paths of the staff API (``op``: :func:`.openapi._op`)."""
    staff = "admins, and the instructors of this cohort"
    return {
        "/cohorts": {"post": op(
            "Create a cohort: its hub group and <group>-instructors (those that do not exist), "
            "bound to a course of the live content from start (a date: midnight UTC, or a "
            "date-time with a time zone). 201; nothing is left half-made on an error",
            CohortCreateIn, who="admins")},
        "/cohorts/{group}/members": {"post": op(
            "Add hub users to the cohort as learners (400 naming every unknown user; nothing "
            "is added then)", MembersIn, who="admins")},
        "/cohorts/{group}/members/{user}": {"delete": op("Remove a learner from the cohort",
                                                         who="admins")},
        "/cohorts/{group}/instructors": {"post": op(
            "Add hub users to <group>-instructors: they teach the cohort", MembersIn,
            who="admins")},
        "/cohorts/{group}/instructors/{user}": {"delete": op(
            "Remove an instructor of the cohort", who="admins")},
        "/cohorts/{group}/extensions": {
            "get": op("The cohort's deadline extensions (user null: the whole cohort; lesson "
                      "null: every lesson)", who=staff),
            "put": op("Give the whole cohort extra days (one lesson, or every lesson); a "
                      "learner's own days add to these", ExtensionIn, who=staff),
            "delete": op("Remove the whole cohort's extension (?lesson=; none: the one for "
                         "every lesson)", who=staff)},
        "/cohorts/{group}/extensions/{user}": {
            "put": op("Give a learner extra days (one lesson, or every lesson); 400 naming "
                      "an unknown learner or lesson", ExtensionIn, who=staff),
            "delete": op("Remove a learner's extension (?lesson=; none: the one for every "
                         "lesson)", who=staff)},
        "/content/versions": {"get": op(
            "Every published content version (the live one marked) and every refused commit "
            "with the validator's lines", who="admins")},
        "/delayed": {"get": op(
            "Learners with lessons that turned delayed in the last ?days= (default 7) and are "
            "delayed still, newest first", who="instructors (their cohorts) and admins")},
    }


STAFF_SCHEMAS = (CohortCreateIn, MembersIn)
