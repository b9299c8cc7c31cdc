"""LTI launches in the API, and the passback queue for admins.

- ``POST api/lti/launches``: the hub records a learner's LTI 1.3 launch after it logged them
  in (a token with ``custom:lms:lti``; admins too): which line item of the school's gradebook
  scores which lesson (or, with ``lesson`` empty, the whole course). A newer launch of the same
  learner from the same line item replaces the older. The learner's current score is queued at
  once, so work done before the first launch reaches the gradebook too.
- ``GET api/lti/passbacks``: the queued scores (``?status=pending|failed|delivered``; default
  pending and failed), admins only.
- ``POST api/lti/passbacks/<id>/retry``: send a failed score again, admins only.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import select
from tornado import web

from lms_extension.content.model import SLUG_PATTERN, Slug

from .auth import ApiHandler
from .lti_store import FAILED, OPEN, PENDING, WHOLE_COURSE, LtiLaunch, PassbackRow, queue_launch
from .passback import SCORE_SCOPE, retry_failed
from .payloads import PayloadError, parse
from .progress import as_utc

LTI_SCOPE = "custom:lms:lti"
SLUG_RE = re.compile(SLUG_PATTERN)
STATUSES = ("pending", "failed", "delivered")


class LaunchIn(BaseModel):
    """The body of ``POST api/lti/launches``: what the hub read from a verified launch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str = Field(min_length=1, max_length=255, description="the learner's hub name")
    sub: str | None = Field(None, min_length=1, max_length=255, description=(
        "the learner's LTI user id (the id_token's sub), sent as userId with each score; "
        "default: user"))
    course: Slug
    lesson: str | None = Field(None, max_length=130, description=(
        "the lesson: its slug or <course>/<lesson>; empty or null: the whole course"))
    lineitem: str = Field(max_length=1000, description="the AGS endpoint claim's lineitem URL")
    scope: list[str] = Field(max_length=20, description="the AGS endpoint claim's scopes")
    issuer: str = Field(min_length=1, max_length=1000)
    client_id: str = Field(min_length=1, max_length=255)
    deployment_id: str = Field(min_length=1, max_length=255)
    context: str | dict[str, Any] | None = Field(None, description=(
        "the school's course: the context claim, or its id"))

    @field_validator("lesson")
    @classmethod
    def _lesson_slug(cls, value: str | None, info: ValidationInfo) -> str | None:
        lesson = value or ""
        if "/" in lesson:
            course, _, lesson = lesson.partition("/")
            if course != info.data.get("course"):
                raise ValueError(f"{value!r} is not a lesson of course {info.data.get('course')!r}")
        if lesson and not SLUG_RE.match(lesson):
            raise ValueError(f"{value!r} is not <lesson> or <course>/<lesson>")
        return lesson or None

    @field_validator("lineitem")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("scope")
    @classmethod
    def _score_scope(cls, value: list[str]) -> list[str]:
        if SCORE_SCOPE not in value:
            raise ValueError(f"the platform did not grant {SCORE_SCOPE}: no score can be sent")
        return value

    @property
    def context_id(self) -> str:
        if isinstance(self.context, dict):
            return str(self.context.get("id", ""))[:255]
        return (self.context or "")[:255]


def passback_row(row: PassbackRow, launch: LtiLaunch) -> dict:
    return {"id": row.id, "status": row.status, "user": launch.user, "course": launch.course,
            "lesson": launch.lesson or None, "lineitem": launch.lineitem,
            "score_given": row.score_given, "score_maximum": row.score_maximum,
            "activity_progress": row.activity_progress,
            "grading_progress": row.grading_progress, "attempts": row.attempts,
            "next_try_at": as_utc(row.next_try_at), "last_error": row.last_error,
            "timestamp": as_utc(row.timestamp), "delivered_at": as_utc(row.delivered_at)}


def list_passbacks(session, statuses, limit: int = 500) -> list[dict]:
    rows = session.execute(
        select(PassbackRow, LtiLaunch).join(LtiLaunch, LtiLaunch.id == PassbackRow.launch_id)
        .where(PassbackRow.status.in_(list(statuses)))
        .order_by(PassbackRow.id.desc()).limit(limit)).tuples()
    return [passback_row(row, launch) for row, launch in rows]


async def record_launch(service, body: LaunchIn) -> dict:
    """Store (or update) the launch and queue the learner's current score for it."""
    index = service.content.index
    lesson = body.lesson or WHOLE_COURSE
    if body.course not in index.courses:
        raise PayloadError(f"course: {body.course!r} is not a course of the live content")
    if lesson and index.lesson(body.course, lesson) is None:
        raise PayloadError(f"lesson: course {body.course!r} has no lesson {lesson!r}")
    expected = service.passback.client_ids
    if expected and body.client_id not in expected:
        raise PayloadError(f"client_id: {body.client_id!r} is not this tool's client id")
    now = service.utcnow()

    def job(session):
        launch = session.scalars(select(LtiLaunch).where(
            LtiLaunch.user == body.user, LtiLaunch.lineitem == body.lineitem)
            .with_for_update()).first()
        if launch is None:
            launch = LtiLaunch(user=body.user, lineitem=body.lineitem)
            session.add(launch)
        elif (launch.course, launch.lesson) != (body.course, lesson):
            launch.delivered_key = None  # the line item now stands for other work
        launch.sub = body.sub or body.user
        launch.course, launch.lesson = body.course, lesson
        launch.scope = list(body.scope)
        launch.issuer, launch.client_id = body.issuer, body.client_id
        launch.deployment_id, launch.context = body.deployment_id, body.context_id
        launch.launched_at = now
        session.flush()
        queued = queue_launch(session, index, launch, now)
        return {"launch": launch.id, "user": launch.user, "course": launch.course,
                "lesson": launch.lesson or None, "lineitem": launch.lineitem,
                "queued": queued is not None and queued.status == PENDING}

    answer = await service.write(job)
    if answer["queued"]:
        service.passback.wake()
    return answer


class LaunchesHandler(ApiHandler):
    async def post(self):
        model = await self.hub_auth.user_for_token(self.hub_auth.get_token(self),
                                                   use_cache=True, sync=False)
        if not (self.viewer.admin or LTI_SCOPE in set(model.get("scopes") or [])):
            raise web.HTTPError(403, f"{self.viewer.name} may not record LTI launches: only "
                                f"the hub (a token with {LTI_SCOPE}) and admins may")
        try:
            body = parse(LaunchIn, self.request.body, self.service.max_body_bytes)
            answer = await record_launch(self.service, body)
        except PayloadError as exc:
            raise web.HTTPError(400, str(exc)) from None
        self.send(answer)


class PassbacksHandler(ApiHandler):
    async def get(self):
        self.require_admin()
        wanted = self.get_query_arguments("status") or list(OPEN)
        for status in wanted:
            if status not in STATUSES:
                raise web.HTTPError(400, f"status: {status!r} is not one of {', '.join(STATUSES)}")
        rows = await self.service.run_db(lambda s: list_passbacks(s, wanted))
        self.send({"enabled": self.service.passback.enabled, "passbacks": rows})


class PassbackRetryHandler(ApiHandler):
    async def post(self, passback_id):
        self.require_admin()
        if not passback_id.isdigit():
            raise web.HTTPError(404, f"passback: {passback_id!r} is not a passback id")
        row = await retry(self.service, int(passback_id))
        self.send({"id": row.id, "status": row.status})


async def retry(service, passback_id: int) -> PassbackRow:
    """Send a failed score again (404 when there is no such failed score)."""
    row = await service.write(lambda s: retry_failed(s, passback_id, service.utcnow()))
    if row is None:
        raise web.HTTPError(404, f"passback: there is no {FAILED} passback {passback_id}")
    service.passback.wake()
    return row


LTI_SCHEMAS = (LaunchIn,)


def lti_openapi_paths(op) -> dict:
    """The LTI paths of the OpenAPI document (``op`` builds one operation)."""
    return {
        "/lti/launches": {"post": op(
            "Record a learner's LTI 1.3 launch: the line item that scores their lesson (or, "
            "lesson empty, their course: completed lessons of all). Replaces their earlier "
            "launch from the same line item and queues their current score for it",
            LaunchIn, who=f"the hub (a token with {LTI_SCOPE}) and admins")},
        "/lti/passbacks": {"get": op(
            "Scores queued for the school's LMS: ?status= pending, failed or delivered "
            "(repeatable; default pending and failed), newest first, with attempts and the "
            "last error", who="admins")},
        "/lti/passbacks/{id}/retry": {"post": op(
            "Send a failed score again (pending, due now, attempts from zero); 404 when it is "
            "not failed", who="admins")},
    }
