"""Refused learner events, for the learners' instructors: ``GET api/courses/<course>/refusals``
and ``GET api/refusals/<user>`` (and a section of the dashboard's course page). Besides the
events the service refuses itself (:mod:`.ingest`), a lesson server reports the events it
refused without sending them: ``POST api/refusals`` (the protocol is described in
:mod:`lms_extension.content.wire`)."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session
from tornado import web

from lms_extension.content.wire import (
    MAX_REPORTS_PER_BATCH,
    RefusalReport,
    RefusalReports,
    ReportsResult,
)

from .auth import ApiHandler, Viewer
from .db import SOURCE_LESSON_SERVER, Refusal
from .ingest import EnvelopeError, read_json_object
from .progress import as_utc
from .reports import course_or_404, visible_learners

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_FIELD_IN_MESSAGE = re.compile(r"^([a-z_]+): (.*)$", re.S)


def refusal_row(row: Refusal) -> dict:
    return {"user": row.user, "event_id": row.event_id, "course": row.course,
            "lesson": row.lesson, "field": row.field, "reason": row.reason,
            "at": as_utc(row.at).isoformat(), "body": row.body, "source": row.source}


def keep_newest(session: Session, user: str, keep: int) -> None:
    """Drop ``user``'s oldest refusals past the newest ``keep`` (0: keep all)."""
    if keep <= 0:
        return
    count = session.scalar(select(func.count()).select_from(Refusal)
                           .where(Refusal.user == user))
    if count > keep:
        oldest = select(Refusal.id).where(Refusal.user == user).order_by(
            Refusal.at, Refusal.id).limit(count - keep)
        session.execute(delete(Refusal).where(Refusal.id.in_(list(session.scalars(oldest)))))


def read_reports(body: bytes, max_body_bytes: int) -> list[RefusalReport]:
    """The reports of a ``POST api/refusals`` body, or :class:`EnvelopeError` naming the
    field (400), or the limit that was passed (413)."""
    data = read_json_object(body, max_body_bytes)
    raw = data.get("refusals")
    if isinstance(raw, list) and len(raw) > MAX_REPORTS_PER_BATCH:
        raise EnvelopeError(413, "refusals", f"{len(raw)} reports are more than the limit of "
                            f"{MAX_REPORTS_PER_BATCH}", MAX_REPORTS_PER_BATCH)
    try:
        return RefusalReports.model_validate(data).refusals
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "body"
        message = err["msg"].removeprefix("Value error, ")
        match = _FIELD_IN_MESSAGE.match(message) if len(err["loc"]) == 2 else None
        if match:
            field, message = f"{field}.{match.group(1)}", match.group(2)
        raise EnvelopeError(400, field, message) from None


def store_reports(session: Session, user: str, reports: list[RefusalReport], now: datetime,
                  keep: int) -> ReportsResult:
    """Store ``user``'s reports, each once: a report id or an event id already held for the
    learner is a duplicate. Runs on the single writer, like the service's own refusals."""
    unique = list({r.report_id: r for r in reports}.values())
    ids = [r.report_id for r in unique]
    events = [str(r.id) for r in unique if r.id is not None]
    held = set(session.scalars(select(Refusal.report_id).where(
        Refusal.user == user, Refusal.report_id.in_(ids))))
    held_events = set(session.scalars(select(Refusal.event_id).where(
        Refusal.user == user, Refusal.event_id.in_(events)))) if events else set()
    new = []
    for report in unique:
        event_id = str(report.id) if report.id is not None else None
        if report.report_id in held or event_id in held_events:
            continue
        held_events.add(event_id)
        new.append(Refusal(user=user, event_id=event_id, course=report.course,
                           lesson=report.lesson, field=report.field, reason=report.reason,
                           at=min(report.at, now), body=report.body,
                           source=SOURCE_LESSON_SERVER, report_id=report.report_id))
    session.add_all(new)
    session.flush()
    keep_newest(session, user, keep)
    return ReportsResult(stored=len(new), duplicates=len(reports) - len(new), taken=ids)


async def course_refusals(service, viewer: Viewer, course: str,
                          limit: int = DEFAULT_LIMIT) -> list[dict]:
    """The newest refusals of the learners ``viewer`` may see in ``course``: their events
    for this course, and those that named no course of the live content (malformed ones).
    Admins see every learner's refusals for the course too."""
    course_or_404(service, course)
    learners = sorted(await visible_learners(service, viewer, course))
    known = list(service.content.index.courses)
    no_course = or_(Refusal.course.is_(None), Refusal.course.not_in(known))
    mine = and_(Refusal.user.in_(learners), or_(Refusal.course == course, no_course))
    where = or_(Refusal.course == course, mine) if viewer.admin else mine
    rows = await service.run_db(lambda s: list(s.scalars(
        select(Refusal).where(where).order_by(Refusal.at.desc(), Refusal.id.desc())
        .limit(limit))))
    return [refusal_row(r) for r in rows]


async def user_refusals(service, viewer: Viewer, user: str,
                        limit: int = DEFAULT_LIMIT) -> list[dict]:
    if not await viewer.may_see(user, service.hub):
        raise web.HTTPError(403, f"{viewer.name} may not see the refusals of {user}")
    rows = await service.run_db(lambda s: list(s.scalars(
        select(Refusal).where(Refusal.user == user)
        .order_by(Refusal.at.desc(), Refusal.id.desc()).limit(limit))))
    return [refusal_row(r) for r in rows]


class _LimitMixin:
    def limit(self) -> int:
        try:
            value = int(self.get_argument("limit", str(DEFAULT_LIMIT)))
        except ValueError:
            raise web.HTTPError(400, "limit: must be a whole number") from None
        if not 1 <= value <= MAX_LIMIT:
            raise web.HTTPError(400, f"limit: must be from 1 to {MAX_LIMIT}")
        return value


class CourseRefusalsHandler(_LimitMixin, ApiHandler):
    async def get(self, course):
        self.send({"course": course, "refusals": await course_refusals(
            self.service, self.viewer, course, self.limit())})


class UserRefusalsHandler(_LimitMixin, ApiHandler):
    async def get(self, user):
        self.send({"user": user, "refusals": await user_refusals(
            self.service, self.viewer, user, self.limit())})


class RefusalReportsHandler(ApiHandler):
    """``POST api/refusals``: a lesson server reports the events it refused itself, always as
    the caller's own (the token's owner); nobody reports for someone else."""

    async def post(self):
        service = self.service
        reports = read_reports(self.request.body, service.max_body_bytes)
        user, now, keep = self.viewer.name, service.utcnow(), service.max_stored_refusals
        result = await service.write(lambda s: store_reports(s, user, reports, now, keep))
        self.send(result.model_dump(mode="json"))
