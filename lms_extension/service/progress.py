"""Learner events in, progress out: the rules that turn events into a lesson's status."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from .content import CatalogIndex
from .db import Event, Progress, SurveyResponse
from .payloads import EventIn

NOT_STARTED, IN_PROGRESS, COMPLETED, DELAYED = "not_started", "in_progress", "completed", "delayed"


def as_utc(value: datetime | None) -> datetime | None:
    """Datetimes from SQLite come back naive; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _complete(row: Progress, at: datetime) -> None:
    if row.status != COMPLETED:
        row.status = COMPLETED
        row.completed_at = at


def record_events(session: Session, user: str, events: list[EventIn], index: CatalogIndex,
                  now: datetime) -> tuple[int, int]:
    """Store ``events`` of ``user`` and update progress; return (accepted, duplicates).

    Events already stored (same id) are skipped, so a client may resend a batch safely. The
    caller has checked that every event names a lesson of the catalog and valid answers.
    """
    seen: set[str] = set()
    unique = []
    for e in events:
        if str(e.id) not in seen:
            seen.add(str(e.id))
            unique.append(e)
    stored = set(session.scalars(select(Event.id).where(Event.id.in_(list(seen)))))
    new = sorted((e for e in unique if str(e.id) not in stored), key=lambda e: e.at_utc)
    if not new:
        return 0, len(events)
    keys = {(e.course, e.lesson) for e in new}
    rows = {
        (r.course, r.lesson): r
        for r in session.scalars(select(Progress).where(
            Progress.user == user, tuple_(Progress.course, Progress.lesson).in_(list(keys))))
    }
    for e in new:
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
            if e.ok and e.cell_id not in row.cells_ok:
                row.cells_ok = [*row.cells_ok, e.cell_id]
            elif not e.ok:
                row.errors = (row.errors or 0) + 1
            needed = math.ceil(lesson["fraction"] * lesson["code_cells"])
            if lesson["rule"] == "executed" and needed and len(row.cells_ok) >= needed:
                _complete(row, at)
        elif e.kind == "lesson_completed":
            _complete(row, at)
        elif e.kind == "survey_submitted":
            session.merge(SurveyResponse(user=user, course=e.course, lesson=e.lesson,
                                         survey=lesson["survey"], answers=e.answers,
                                         updated_at=now))
    return len(new), len(events) - len(new)


def mark_delayed(session: Session, index: CatalogIndex, due_dates: dict[tuple, datetime],
                 now: datetime) -> int:
    """Mark lessons past their learner's due date and not completed as delayed.

    ``due_dates`` maps (user, course, lesson) to that learner's due date. Returns how many
    lessons turned delayed.
    """
    if not due_dates:
        return 0
    past = {key for key, due in due_dates.items() if due <= now}
    rows = {
        (r.user, r.course, r.lesson): r
        for r in session.scalars(select(Progress).where(
            tuple_(Progress.user, Progress.course, Progress.lesson).in_(list(past))))
    } if past else {}
    changed = 0
    for key in past:
        row = rows.get(key)
        if row is None:
            session.add(Progress(user=key[0], course=key[1], lesson=key[2], status=DELAYED,
                                 active_seconds=0.0, cells_ok=[], errors=0))
            changed += 1
        elif row.status == IN_PROGRESS:
            row.status = DELAYED
            changed += 1
    return changed
