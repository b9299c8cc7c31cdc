"""Learner events in, progress out: the rules that turn events into a lesson's status."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from .check_store import checks_passed
from .content import CatalogIndex
from .db import Event, Progress, SurveyResponse
from .lti_store import queue_passbacks
from .payloads import EventIn

NOT_STARTED, IN_PROGRESS, COMPLETED, DELAYED = "not_started", "in_progress", "completed", "delayed"


def as_utc(value: datetime | None) -> datetime | None:
    """Datetimes from SQLite come back naive; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _complete(row: Progress, at: datetime) -> bool:
    """Mark the lesson completed; whether it was not before."""
    if row.status == COMPLETED:
        return False
    row.status = COMPLETED
    row.completed_at = at
    return True


@dataclass
class Recorded:
    """What :func:`record_events` did with a batch's events."""

    accepted: list[EventIn] = field(default_factory=list)  # newly stored
    duplicates: list[EventIn] = field(default_factory=list)  # already stored, or repeated
    over_quota: list[EventIn] = field(default_factory=list)  # new, but no room left


def counts_toward_completion(lesson: dict, cell_id: str | None) -> bool:
    """Whether a run of ``cell_id`` counts: only the code cells of the lesson's notebooks do
    (a cell the learner added, or an id made up, does not)."""
    ids = lesson.get("code_cell_ids")
    return cell_id is not None and (ids is None or cell_id in ids)


def record_events(session: Session, user: str, events: list[EventIn], index: CatalogIndex,
                  now: datetime, room: int | None = None) -> Recorded:
    """Store ``events`` of ``user`` and update progress.

    Events already stored (same id) are skipped, so a client may resend a batch safely. At most
    ``room`` new events are stored (None: no limit); the rest are ``over_quota``. The caller has
    checked that every event names a lesson of the catalog and valid answers, and runs this on
    the single writer (:mod:`.writer`), so no other write changes these rows meanwhile.
    """
    done = Recorded()
    seen: set[str] = set()
    unique = []
    for e in events:
        if str(e.id) in seen:
            done.duplicates.append(e)
        else:
            seen.add(str(e.id))
            unique.append(e)
    stored = set(session.scalars(select(Event.id).where(Event.id.in_(list(seen)))))
    new = []
    for e in unique:
        (done.duplicates if str(e.id) in stored else new).append(e)
    if room is not None and len(new) > room:
        new, done.over_quota = new[:max(room, 0)], new[max(room, 0):]
    done.accepted = new
    if not new:
        return done
    keys = {(e.course, e.lesson) for e in new}
    rows = {
        (r.course, r.lesson): r
        for r in session.scalars(select(Progress).where(
            Progress.user == user, tuple_(Progress.course, Progress.lesson).in_(list(keys)))
            .with_for_update())
    }
    completed: set[tuple[str, str]] = set()  # lessons that turned completed
    for e in sorted(new, key=lambda e: e.at_utc):
        at = e.at_utc
        session.add(Event(id=str(e.id), user=user, course=e.course, lesson=e.lesson, kind=e.kind,
                          at=at, received_at=now,
                          data=e.model_dump(mode="json", exclude={"id", "course", "lesson",
                                                                  "kind", "at"})))
        row = rows.get((e.course, e.lesson))
        if row is None:
            row = Progress(user=user, course=e.course, lesson=e.lesson, status=IN_PROGRESS,
                           first_opened=at, last_activity=at, active_seconds=0.0, cells_ok=[],
                           errors=0)
            session.add(row)
            rows[(e.course, e.lesson)] = row
        row.first_opened = min(as_utc(row.first_opened) or at, at)
        row.last_activity = max(as_utc(row.last_activity) or at, at)
        row.active_seconds = (row.active_seconds or 0.0) + e.active_seconds
        lesson = index.lesson(e.course, e.lesson)
        if e.kind == "cell_executed":
            counts = counts_toward_completion(lesson, e.cell_id)
            if e.ok and counts and e.cell_id not in row.cells_ok:
                row.cells_ok = [*row.cells_ok, e.cell_id]
            elif not e.ok:
                row.errors = (row.errors or 0) + 1
            if cells_done(lesson, row) and (not lesson.get("checks")
                                            or checks_passed(session, user, e.course, e.lesson)):
                if _complete(row, at):
                    completed.add((e.course, e.lesson))
        elif e.kind == "lesson_completed":
            if not needs_checks(lesson) or checks_passed(session, user, e.course, e.lesson):
                if _complete(row, at):
                    completed.add((e.course, e.lesson))
        elif e.kind == "survey_submitted":
            session.merge(SurveyResponse(user=user, course=e.course, lesson=e.lesson,
                                         survey=lesson["survey"], answers=e.answers,
                                         updated_at=now))
    for course, lesson_slug in sorted(completed):  # scores for the school's LMS (LTI)
        queue_passbacks(session, index, user, course, lesson_slug, now)
    return done


def cells_done(lesson: dict, row: Progress) -> bool:
    """Whether the cells run in ``row`` meet an ``executed`` lesson's fraction."""
    needed = math.ceil(lesson["fraction"] * lesson["code_cells"])
    return lesson["rule"] == "executed" and bool(needed) and len(row.cells_ok) >= needed


def needs_checks(lesson: dict) -> bool:
    """Whether the lesson's completion rule needs its knowledge checks passed."""
    return lesson["rule"] == "checks" or bool(lesson.get("checks"))


def record_checks_passed(session: Session, user: str, course: str, lesson_slug: str,
                         index: CatalogIndex, at: datetime) -> None:
    """``user`` just passed the lesson's knowledge checks (their attempt is stored): the
    lesson turns completed if its rule needs the checks and the rest of it is met. Runs on
    the single writer, like :func:`record_events`."""
    lesson = index.lesson(course, lesson_slug)
    if lesson is None or not needs_checks(lesson):
        return
    row = session.scalars(select(Progress).where(
        Progress.user == user, Progress.course == course, Progress.lesson == lesson_slug)
        .with_for_update()).first()
    if row is None:
        row = Progress(user=user, course=course, lesson=lesson_slug, status=IN_PROGRESS,
                       first_opened=at, last_activity=at, active_seconds=0.0, cells_ok=[],
                       errors=0)
        session.add(row)
    row.last_activity = max(as_utc(row.last_activity) or at, at)
    if lesson["rule"] == "checks" or cells_done(lesson, row):
        _complete(row, at)


def mark_delayed(session: Session, index: CatalogIndex, due_dates: dict[tuple, datetime],
                 now: datetime) -> int:
    """Mark lessons past their learner's due date and not completed as delayed.

    ``due_dates`` maps (user, course, lesson) to that learner's due date. Returns how many
    lessons turned delayed. Runs on the single writer: a completion stored before it is seen
    (and stays completed), one stored after it turns the delayed lesson completed. A delayed
    lesson whose due date moved into the future (an extension) is delayed no more
    (:func:`lift_delays`).
    """
    if not due_dates:
        return 0
    lift_delays(session, due_dates, now)
    past = {key for key, due in due_dates.items() if due <= now}
    rows = {
        (r.user, r.course, r.lesson): r
        for r in session.scalars(select(Progress).where(
            tuple_(Progress.user, Progress.course, Progress.lesson).in_(list(past)))
            .with_for_update())
    } if past else {}
    changed = 0
    for key in past:
        row = rows.get(key)
        if row is None:
            session.add(Progress(user=key[0], course=key[1], lesson=key[2], status=DELAYED,
                                 active_seconds=0.0, cells_ok=[], errors=0, delayed_at=now))
            changed += 1
        elif row.status == IN_PROGRESS:
            row.status = DELAYED
            row.delayed_at = now
            changed += 1
    return changed


def lift_delays(session: Session, due_dates: dict[tuple, datetime], now: datetime) -> int:
    """Delayed lessons whose learner's due date is now in the future are delayed no more:
    in progress again, or not started (no row) when the learner never opened them. Returns
    how many."""
    lifted = 0
    for row in session.scalars(select(Progress).where(Progress.status == DELAYED)
                               .with_for_update()):
        due = due_dates.get((row.user, row.course, row.lesson))
        if due is None or due <= now:
            continue
        if row.first_opened is None:
            session.delete(row)
        else:
            row.status = IN_PROGRESS
            row.delayed_at = None
        lifted += 1
    return lifted
