"""Learner events in, progress out: the rules that turn events into a lesson's status (applied
to many batches at once by :mod:`.recording`), and the deadline rules."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from .content import CatalogIndex
from .db import Progress

NOT_STARTED, IN_PROGRESS, COMPLETED, DELAYED = "not_started", "in_progress", "completed", "delayed"


def as_utc(value: datetime | None) -> datetime | None:
    """Datetimes from SQLite come back naive; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def mark_completed(row: Progress, at: datetime) -> bool:
    """Mark the lesson completed; whether it was not before."""
    if row.status == COMPLETED:
        return False
    row.status = COMPLETED
    row.completed_at = at
    return True


def counts_toward_completion(lesson: dict, cell_id: str | None) -> bool:
    """Whether a run of ``cell_id`` counts: only the code cells of the lesson's notebooks do
    (a cell the learner added, or an id made up, does not)."""
    ids = lesson.get("code_cell_ids")
    return cell_id is not None and (ids is None or cell_id in ids)


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
    the single writer, like :func:`.recording.record_batches`."""
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
        mark_completed(row, at)


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
