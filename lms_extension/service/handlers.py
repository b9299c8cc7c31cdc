"""The REST API under ``/services/lms/api/``. Every handler needs a hub token (``ApiHandler``)
except the content webhook (:mod:`.webhook`), which needs the webhook secret's signature
instead."""

from __future__ import annotations

import math
import re
from datetime import UTC

from sqlalchemy import delete, select
from tornado import web

from lms_extension.content.model import SLUG

from .auth import ApiHandler
from .cohort_admin import instructors_group
from .content_api import CatalogHandler, ContentHandler, ContentSyncHandler
from .deadlines import extension_row
from .db import Cohort, Extension, Progress, SurveyResponse
from .openapi import openapi_document
from .staff_api import create_from_api
from .ingest import read_envelope
from .payloads import CohortIn, PayloadError, SurveyIn, parse
from .progress import NOT_STARTED, as_utc
from .refusals import CourseRefusalsHandler, RefusalReportsHandler, UserRefusalsHandler
from .reports import course_progress, survey_or_404, survey_results
from .visits import UserVisitsHandler
from .search import SearchHandler
from .webhook import WebhookHandler

NAME = r"[^/]+"


class JsonBodyMixin:
    def body_as(self, model):
        try:
            return parse(model, self.request.body, self.service.max_body_bytes)
        except PayloadError as exc:
            raise web.HTTPError(400, str(exc)) from None


class IndexHandler(ApiHandler):
    async def get(self):
        self.send({"openapi": "openapi.json", "viewer": {
            "name": self.viewer.name, "admin": self.viewer.admin,
            "instructor": self.viewer.is_instructor},
            "limits": self.service.intake.limits.model_dump()})


class OpenApiHandler(ApiHandler):
    async def get(self):
        self.send(openapi_document(self.service.base_url))


class EventsHandler(ApiHandler):
    """Learner events: the envelope is judged as a whole, each event on its own (see
    :mod:`lms_extension.content.wire`)."""

    async def post(self):
        intake = self.service.intake
        raw_events = read_envelope(self.request.body, intake.limits)
        result = await intake.take(self.viewer.name, raw_events)
        if result.retry_after:
            self.set_header("Retry-After", str(math.ceil(result.retry_after)))
        self.set_header("Content-Type", "application/json")
        self.finish(result.model_dump_json())


def progress_row(row: Progress | None, lesson: str) -> dict:
    if row is None:
        return {"lesson": lesson, "status": NOT_STARTED}
    return {"lesson": lesson, "status": row.status, "first_opened": as_utc(row.first_opened),
            "completed_at": as_utc(row.completed_at), "active_seconds": row.active_seconds,
            "cells_ok": len(row.cells_ok or []), "errors": row.errors}


class UserProgressHandler(ApiHandler):
    async def get(self, user):
        if not await self.viewer.may_see(user, self.service.hub):
            self.forbid(f"the progress of {user}")
        index = self.service.content.index
        rows = await self.service.run_db(lambda s: list(s.scalars(
            select(Progress).where(Progress.user == user))))
        by_key = {(r.course, r.lesson): r for r in rows}
        due = await self.service.due_dates(user)

        def row(course: str, slug: str) -> dict:
            when = due.get((user, course, slug))
            return {**progress_row(by_key.get((course, slug)), slug),
                    "due": when.isoformat() if when else None}

        self.send({"user": user, "version": index.sha or None,
                   "due_soon_days": self.service.due_soon_days, "courses": {
            course: [row(course, slug) for slug in index.lesson_slugs(course)]
            for course in index.courses}})


class CourseProgressHandler(ApiHandler):
    async def get(self, course):
        self.send(await course_progress(self.service, self.viewer, course))


class CohortsHandler(ApiHandler):
    async def get(self):
        cohorts = await self.service.run_db(lambda s: list(s.scalars(select(Cohort))))
        self.send({"cohorts": [
            {"group": c.group, "course": c.course, "start": as_utc(c.start)}
            for c in cohorts if self.viewer.teaches_cohort(c.group)]})

    async def post(self):
        await create_from_api(self)


class CohortHandler(JsonBodyMixin, ApiHandler):
    async def get(self, group):
        if not self.viewer.teaches_cohort(group):
            self.forbid(f"cohort {group}")
        cohort = await self.service.run_db(lambda s: s.get(Cohort, group))
        if cohort is None:
            raise web.HTTPError(404, f"group: {group!r} is not a cohort")
        extensions = await self.service.run_db(lambda s: list(s.scalars(
            select(Extension).where(Extension.group == group))))
        self.send({"group": group, "course": cohort.course, "start": as_utc(cohort.start),
                   "members": await self.service.hub.members(group),
                   "instructors": await self.service.hub.members(instructors_group(group)),
                   "extensions": [extension_row(e) for e in extensions]})

    async def put(self, group):
        self.require_admin()
        body = self.body_as(CohortIn)
        if body.course not in self.service.content.index.courses:
            raise web.HTTPError(400, f"course: no course {body.course!r} in the live content")
        if not await self.service.hub.group_exists(group):
            raise web.HTTPError(400, f"group: the hub has no group {group!r}")
        start = body.start.astimezone(UTC)  # stored as UTC: SQLite keeps no zone
        await self.service.run_db(lambda s: s.merge(
            Cohort(group=group, course=body.course, start=start)))
        self.send({"group": group, "course": body.course, "start": start})

    async def delete(self, group):
        self.require_admin()
        await self.service.run_db(lambda s: s.execute(delete(Cohort).where(Cohort.group == group)))
        self.set_status(204)
        self.finish()


class SurveyHandler(JsonBodyMixin, ApiHandler):
    async def get(self, course, lesson):
        survey = survey_or_404(self.service, course, lesson)
        row = await self.service.run_db(
            lambda s: s.get(SurveyResponse, (self.viewer.name, course, lesson)))
        self.send({"survey": survey.model_dump(mode="json"),
                   "answers": row.answers if row else None})

    async def put(self, course, lesson):
        survey = survey_or_404(self.service, course, lesson)
        body = self.body_as(SurveyIn)
        try:
            answers = survey.check_answers(body.answers)
        except ValueError as exc:
            raise web.HTTPError(400, str(exc)) from None
        name = self.service.content.index.lesson(course, lesson)["survey"]
        now = self.service.utcnow()
        await self.service.write(lambda s: s.merge(SurveyResponse(
            user=self.viewer.name, course=course, lesson=lesson, survey=name,
            answers=answers, updated_at=now)))
        self.send({"answers": answers})


class SurveyResultsHandler(ApiHandler):
    async def get(self, course, lesson):
        self.send(await survey_results(self.service, self.viewer, course, lesson))


class DeadlinesHandler(ApiHandler):
    async def post(self):
        self.require_admin()
        self.send({"delayed": await self.service.check_deadlines()})


def routes(base: str) -> list[tuple]:
    api = re.escape(base.rstrip("/")) + "/api"
    return [
        (rf"{api}/?", IndexHandler),
        (rf"{api}/openapi\.json", OpenApiHandler),
        (rf"{api}/catalog", CatalogHandler),
        (rf"{api}/content", ContentHandler),
        (rf"{api}/content/sync", ContentSyncHandler),
        (rf"{api}/content/webhook", WebhookHandler),
        (rf"{api}/events", EventsHandler),
        (rf"{api}/progress/({NAME})", UserProgressHandler),
        (rf"{api}/visits/({NAME})", UserVisitsHandler),
        (rf"{api}/courses/({SLUG})/progress", CourseProgressHandler),
        (rf"{api}/courses/({SLUG})/refusals", CourseRefusalsHandler),
        (rf"{api}/refusals", RefusalReportsHandler),
        (rf"{api}/refusals/({NAME})", UserRefusalsHandler),
        (rf"{api}/cohorts", CohortsHandler),
        (rf"{api}/cohorts/({NAME})", CohortHandler),
        (rf"{api}/surveys/({SLUG})/({SLUG})", SurveyHandler),
        (rf"{api}/surveys/({SLUG})/({SLUG})/results", SurveyResultsHandler),
        (rf"{api}/deadlines/run", DeadlinesHandler),
        (rf"{api}/search", SearchHandler),
    ]
