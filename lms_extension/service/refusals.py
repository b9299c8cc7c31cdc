"""Refused learner events, for the learners' instructors: ``GET api/courses/<course>/refusals``
and ``GET api/refusals/<user>`` (and a section of the dashboard's course page)."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from tornado import web

from .auth import ApiHandler, Viewer
from .db import Refusal
from .progress import as_utc
from .reports import course_or_404, visible_learners

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def refusal_row(row: Refusal) -> dict:
    return {"user": row.user, "event_id": row.event_id, "course": row.course,
            "lesson": row.lesson, "field": row.field, "reason": row.reason,
            "at": as_utc(row.at).isoformat(), "body": row.body}


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
