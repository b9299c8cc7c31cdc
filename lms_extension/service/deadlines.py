"""Deadline extensions: for one learner or a whole cohort (``user`` ''), for one lesson or every
lesson of the course (``lesson`` ''), and how they move a learner's due date; and the learners
who turned delayed lately (the dashboard's front page).

A learner's days add to the cohort's; at either level a lesson's own entry replaces the entry
for every lesson. After each change the deadline task runs at once, so a learner whose date
moved past now is no longer delayed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from tornado import web

from .auth import Viewer
from .db import Cohort, Extension, Progress
from .fields import FieldError
from .progress import DELAYED, as_utc

WHOLE_COHORT = ""
EVERY_LESSON = ""


def extension_days(extra: dict[tuple, float], group: str, user: str, lesson: str) -> float:
    """The extra days of ``user`` in cohort ``group`` for ``lesson``, from ``extra``:
    ``(group, user, lesson) -> days`` with '' for the whole cohort and for every lesson."""

    def level(who: str) -> float:
        return extra.get((group, who, lesson), extra.get((group, who, EVERY_LESSON), 0.0))

    return level(WHOLE_COHORT) + (level(user) if user != WHOLE_COHORT else 0.0)


def may_extend(viewer: Viewer, group: str) -> bool:
    """Admins, and the instructors of this very cohort."""
    return viewer.admin or (viewer.teaches is not None and group in viewer.teaches)


def extension_row(e: Extension) -> dict:
    return {"user": e.user or None, "lesson": e.lesson or None, "days": e.days}


async def cohort_for_deadlines(service, viewer: Viewer, group: str) -> Cohort:
    if not may_extend(viewer, group):
        raise web.HTTPError(403, f"{viewer.name} may not change the deadlines of cohort {group}")
    cohort = await service.run_db(lambda s: s.get(Cohort, group))
    if cohort is None:
        raise web.HTTPError(404, f"group: {group!r} is not a cohort")
    return cohort


async def list_extensions(service, viewer: Viewer, group: str) -> list[dict]:
    await cohort_for_deadlines(service, viewer, group)
    rows = await service.run_db(lambda s: list(s.scalars(
        select(Extension).where(Extension.group == group)
        .order_by(Extension.user, Extension.lesson))))
    return [extension_row(e) for e in rows]


async def _check(service, cohort: Cohort, user: str, lesson: str) -> None:
    if user != WHOLE_COHORT and user not in await service.hub.members(cohort.group):
        raise FieldError("user", "'{user}' is not in cohort '{group}'", user=user,
                         group=cohort.group)
    if lesson != EVERY_LESSON and service.content.index.lesson(cohort.course, lesson) is None:
        raise FieldError("lesson", "no lesson '{lesson}' in {course}", lesson=lesson,
                         course=cohort.course)


async def extend(service, viewer: Viewer, group: str, user: str, lesson: str,
                 days: float) -> dict:
    """Give ``user`` ('' : the whole cohort) ``days`` extra days for ``lesson`` ('': every
    lesson), replacing an earlier extension of the same learner and lesson."""
    cohort = await cohort_for_deadlines(service, viewer, group)
    await _check(service, cohort, user, lesson)
    await service.write(lambda s: s.merge(
        Extension(group=group, user=user, lesson=lesson, days=days)))
    await service.check_deadlines()
    return {"group": group, "user": user or None, "lesson": lesson or None, "days": days}


async def remove_extension(service, viewer: Viewer, group: str, user: str, lesson: str) -> None:
    await cohort_for_deadlines(service, viewer, group)

    def drop(session) -> int:
        return session.execute(delete(Extension).where(
            Extension.group == group, Extension.user == user,
            Extension.lesson == lesson)).rowcount

    if not await service.write(drop):
        who = "the whole cohort" if user == WHOLE_COHORT else repr(user)
        what = "every lesson" if lesson == EVERY_LESSON else repr(lesson)
        raise web.HTTPError(404, f"extension: none for {who} and {what} in cohort {group!r}")
    await service.check_deadlines()


async def newly_delayed(service, viewer: Viewer, since: timedelta) -> list[dict]:
    """Learners with lessons that turned delayed in the last ``since`` and are delayed still,
    in the cohorts ``viewer`` teaches (admins: every learner): newest first, with the lessons."""
    if not (viewer.admin or viewer.is_instructor):
        return []
    cutoff = service.utcnow() - since
    rows = await service.run_db(lambda s: list(s.execute(
        select(Progress.user, Progress.course, Progress.lesson, Progress.delayed_at).where(
            Progress.status == DELAYED, Progress.delayed_at >= cutoff)).all()))
    visible = None
    if not (viewer.admin or viewer.teaches is None):
        cohorts = await service.run_db(lambda s: list(s.scalars(select(Cohort))))
        visible = defaultdict(set)
        for cohort in cohorts:
            if viewer.teaches_cohort(cohort.group):
                for user in await service.hub.members(cohort.group):
                    visible[user].add(cohort.course)
    index = service.content.index
    learners: dict[str, dict] = {}
    for user, course, lesson, at in rows:
        if visible is not None and course not in visible.get(user, ()):
            continue
        info = index.lesson(course, lesson)
        entry = learners.setdefault(user, {"user": user, "since": as_utc(at), "lessons": []})
        entry["since"] = max(entry["since"], as_utc(at))
        entry["lessons"].append({"course": course, "lesson": lesson,
                                 "title": (info.get("titles") or info["title"]) if info
                                 else lesson})
    return sorted(learners.values(), key=lambda e: (-e["since"].timestamp(), e["user"]))

