"""Learner events stored and folded into progress, many batches in one transaction.

The single writer (:mod:`.writer`) hands :func:`record_batches` every event batch that waits
for it; they are recorded in the order they arrived, as if one after the other, but with a
fixed number of statements whatever the number of batches: one read of the event ids already
held, one read (``FOR UPDATE`` on PostgreSQL) of the progress rows they touch, one multi-row
insert of the new events, one of the new progress rows, one update of the changed ones. On
PostgreSQL one statement does all the reads and one all the writes (:mod:`.recording_pg`).
The rules that turn events into a lesson's status are those of :mod:`.progress`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, func, insert, select, tuple_, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import recording_pg
from .check_store import checks_passed
from .content import CatalogIndex
from .db import Event, Progress, SurveyResponse
from .lti_store import queue_passbacks
from .payloads import EventIn
from .progress import (
    IN_PROGRESS,
    as_utc,
    cells_done,
    counts_toward_completion,
    mark_completed,
    needs_checks,
)

EVENTS = Event.__table__
PROGRESS = Progress.__table__
LOAD_PROGRESS = select(PROGRESS).where(
    tuple_(PROGRESS.c.user, PROGRESS.c.course, PROGRESS.c.lesson).in_(
        bindparam("keys", expanding=True))).with_for_update()
CHUNK = 500  # keys in one ``IN (...)``: well under the bound-parameter limits of both databases
DATA_EXCLUDE = frozenset({"id", "course", "lesson", "kind", "at"})
PROGRESS_FIELDS = ("status", "first_opened", "last_activity", "completed_at", "active_seconds",
                   "cells_ok", "errors", "delayed_at")


class Quota(Protocol):
    """Stored events per learner (:class:`.quotas.StoredEvents`)."""

    def uncounted(self, users: Iterable[str]) -> list[str]: ...

    def counted(self, counts: dict[str, int]) -> None: ...

    def room(self, session: Session, user: str) -> int | None: ...

    def add(self, session: Session, user: str, stored: int) -> None: ...


@dataclass
class Recorded:
    """What :func:`record_batches` did with one batch's events."""

    accepted: list[EventIn] = field(default_factory=list)  # newly stored
    duplicates: list[EventIn] = field(default_factory=list)  # already stored, or repeated
    over_quota: list[EventIn] = field(default_factory=list)  # new, but no room left
    taken: list[str] = field(default_factory=list)  # ids the service now holds, in order


@dataclass
class Batch:
    """One learner's batch, as handed to :func:`record_batches`."""

    user: str
    events: list[EventIn]
    index: CatalogIndex  # the catalog the events were checked against
    now: datetime  # when the batch was received
    done: Recorded = field(default_factory=Recorded)
    ids: list[str] = field(default_factory=list)  # the events' ids, canonical

    def __post_init__(self):
        self.ids = [str(e.id) for e in self.events]


class ProgressState:
    """A progress row while the batches of one transaction change it."""

    __slots__ = ("key", "new", "changed", *PROGRESS_FIELDS)

    def __init__(self, key: tuple[str, str, str], new: bool, **values):
        self.key = key
        self.new = new
        self.changed = new
        self.status = values.get("status", IN_PROGRESS)
        self.first_opened = as_utc(values.get("first_opened"))
        self.last_activity = as_utc(values.get("last_activity"))
        self.completed_at = as_utc(values.get("completed_at"))
        self.active_seconds = values.get("active_seconds") or 0.0
        self.cells_ok = list(values.get("cells_ok") or [])
        self.errors = values.get("errors") or 0
        self.delayed_at = as_utc(values.get("delayed_at"))

    def values(self) -> dict:
        return {name: getattr(self, name) for name in PROGRESS_FIELDS}

    def row(self) -> dict:
        """The progress row: its key and values."""
        return {"user": self.key[0], "course": self.key[1], "lesson": self.key[2],
                **self.values()}


def record_batches(session: Session, batches: list[Batch],
                   quota: Quota | None = None) -> list[Recorded]:
    """Store the events of ``batches`` and update progress, batch after batch.

    Events already stored (same id), or taken by an earlier batch of the same call, are
    duplicates, so a client may resend a batch safely. A learner's new events past the room
    ``quota`` leaves are ``over_quota``. The caller has checked that every event names a lesson
    of the catalog and valid answers, and runs this on the single writer, so no other write of
    this service changes these rows meanwhile; a concurrent writer of another process makes the
    inserts fail (unique keys), and the writer runs the transaction again.
    """
    session.flush()  # writes of earlier jobs of the same transaction, for the reads below
    conn = session.connection()
    ids = {i for batch in batches for i in batch.ids}
    uncounted = quota.uncounted(b.user for b in batches) if quota is not None else []
    postgres = conn.dialect.name == "postgresql"
    if postgres:  # the reads at once: the rows of every batch's lessons, duplicates or not
        held, loaded, counts = recording_pg.read(
            conn, ids, {(b.user, e.course, e.lesson) for b in batches for e in b.events},
            uncounted)
    else:
        held, counts = _existing_ids(session, ids), _stored_counts(conn, uncounted)
    if quota is not None:
        quota.counted(counts)
    new_ids: dict[int, str] = {}  # id(event) -> its id, for the new events
    for batch in batches:
        _sort_out(session, batch, held, new_ids, quota)
    keys = {(b.user, e.course, e.lesson) for b in batches for e in b.done.accepted}
    if not keys:
        return [b.done for b in batches]
    if postgres:
        rows = {key: ProgressState(key, new=key not in loaded, **loaded.get(key, {}))
                for key in keys}
    else:
        rows = _load_progress(session, keys)
    events: list[tuple] = []
    completed: dict[tuple[str, str, str], Batch] = {}  # lessons that turned completed
    passed: dict[tuple[str, str, str], bool] = {}
    for batch in batches:
        for at, e in sorted(((e.at_utc, e) for e in batch.done.accepted), key=lambda p: p[0]):
            key = (batch.user, e.course, e.lesson)
            events.append((new_ids[id(e)], batch.user, e.course, e.lesson, e.kind, at, batch.now,
                           e.model_dump_json(exclude=DATA_EXCLUDE)))
            if _apply(session, rows[key], e, at, batch, passed):
                completed.setdefault(key, batch)
    _write(conn, events, rows)
    _expire_progress(session)
    _queue_passbacks(session, completed)
    return [b.done for b in batches]


def _write(conn: Connection, events: list[tuple],
           rows: dict[tuple[str, str, str], ProgressState]) -> None:
    """Insert the new events and progress rows, update the changed progress rows."""
    new = [s.row() for s in rows.values() if s.new]
    changed = [s.row() for s in rows.values() if s.changed and not s.new]
    if conn.dialect.name == "postgresql":
        recording_pg.write(conn, events, new, changed)
        return
    _insert_events(conn, events)
    if new:
        conn.execute(insert(PROGRESS), new)
    if changed:  # the key as bound parameters of their own: the update sets the other columns
        conn.execute(update(PROGRESS).where(
            PROGRESS.c.user == bindparam("k_user"), PROGRESS.c.course == bindparam("k_course"),
            PROGRESS.c.lesson == bindparam("k_lesson")),
            [{"k_user": r.pop("user"), "k_course": r.pop("course"), "k_lesson": r.pop("lesson"),
              **r} for r in changed])


def _queue_passbacks(session: Session, completed: dict[tuple[str, str, str], Batch]) -> None:
    """Scores for the school's LMS, for the lessons that turned completed."""
    for (user, course, lesson), batch in completed.items():
        queue_passbacks(session, batch.index, user, course, lesson, batch.now)


def _sort_out(session: Session, batch: Batch, held: set[str], new_ids: dict[int, str],
              quota: Quota | None) -> None:
    """Which of the batch's events are new, duplicates, or over the learner's quota."""
    done, seen, new = batch.done, set(), []
    for e, event_id in zip(batch.events, batch.ids, strict=True):
        if event_id in seen or event_id in held:
            done.duplicates.append(e)
        else:
            seen.add(event_id)
            new.append((e, event_id))
    room = quota.room(session, batch.user) if quota is not None else None
    if room is not None and len(new) > room:
        new, over = new[:max(room, 0)], new[max(room, 0):]
        done.over_quota = [e for e, _ in over]
    done.accepted = [e for e, _ in new]
    for e, event_id in new:
        held.add(event_id)
        new_ids[id(e)] = event_id
    if quota is not None:
        quota.add(session, batch.user, len(new))
    done.taken = list(dict.fromkeys(i for i in batch.ids if i in held))


def _apply(session: Session, row: ProgressState, e: EventIn, at: datetime, batch: Batch,
           passed: dict) -> bool:
    """Fold one new event into its progress row; whether the lesson turned completed."""
    user, course, lesson_slug = row.key
    row.changed = True
    row.first_opened = min(row.first_opened or at, at)
    row.last_activity = max(row.last_activity or at, at)
    row.active_seconds += e.active_seconds
    lesson = batch.index.lesson(course, lesson_slug)

    def checks_ok() -> bool:
        if row.key not in passed:
            passed[row.key] = checks_passed(session, user, course, lesson_slug)
        return passed[row.key]

    if e.kind == "cell_executed":
        if e.ok and counts_toward_completion(lesson, e.cell_id) and e.cell_id not in row.cells_ok:
            row.cells_ok.append(e.cell_id)
        elif not e.ok:
            row.errors += 1
        if cells_done(lesson, row) and (not lesson.get("checks") or checks_ok()):
            return mark_completed(row, at)
    elif e.kind == "lesson_completed":
        if not needs_checks(lesson) or checks_ok():
            return mark_completed(row, at)
    elif e.kind == "survey_submitted":
        session.merge(SurveyResponse(user=user, course=course, lesson=lesson_slug,
                                     survey=lesson["survey"], answers=e.answers,
                                     updated_at=batch.now))
    return False


def _insert_events(conn: Connection, events: list[tuple]) -> None:
    """Insert the ``events`` rows (in the column order of the table; ``data`` already JSON) in
    one executemany on the database driver, in which each distinct time is turned into the
    database's form once (PostgreSQL: :func:`.recording_pg.write`)."""
    dialect = conn.dialect
    sql, positions, convert = _events_insert(dialect)
    order = [column.key for column in EVENTS.columns]
    times = [order.index("at"), order.index("received_at")]
    if convert is not None:
        memo: dict[datetime, object] = {}
        for n, row in enumerate(events):
            row = list(row)
            for i in times:
                if row[i] not in memo:
                    memo[row[i]] = convert(row[i])
                row[i] = memo[row[i]]
            events[n] = tuple(row)
    if positions is not None:
        columns = [order.index(name) for name in positions]
        params = [tuple(row[i] for i in columns) for row in events]
    else:
        params = [dict(zip(order, row, strict=True)) for row in events]
    conn.exec_driver_sql(sql, params)


@functools.lru_cache(maxsize=8)
def _events_insert(dialect) -> tuple[str, list[str] | None, object]:
    """The ``INSERT`` into ``events`` on ``dialect``, compiled once: its SQL, the order of its
    positional parameters (None: named), and the bind processor of its times."""
    compiled = insert(EVENTS).compile(dialect=dialect)
    positions = list(compiled.positiontup) if compiled.positiontup is not None else None
    return (str(compiled), positions,
            EVENTS.c.at.type.dialect_impl(dialect).bind_processor(dialect))


def _chunks(values: Iterable, size: int = CHUNK) -> Iterator[list]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _existing_ids(session: Session, ids: set[str]) -> set[str]:
    """Which of ``ids`` are stored already."""
    conn = session.connection()
    mark = {"qmark": "?", "format": "%s"}.get(conn.dialect.paramstyle)
    held: set[str] = set()
    for part in _chunks(ids):  # plain placeholders: no expanding parameter to render per id
        if mark is None:
            held.update(conn.scalars(select(EVENTS.c.id).where(EVENTS.c.id.in_(part))))
        else:
            held.update(conn.exec_driver_sql(
                f"SELECT id FROM events WHERE id IN ({', '.join([mark] * len(part))})",
                tuple(part)).scalars())
    return held


def _stored_counts(conn: Connection, users: list[str]) -> dict[str, int]:
    """The events each of ``users`` has stored."""
    counts = dict.fromkeys(users, 0)
    for part in _chunks(users):
        counts.update((user, count) for user, count in conn.execute(
            select(EVENTS.c.user, func.count()).where(EVENTS.c.user.in_(part))
            .group_by(EVENTS.c.user)))
    return counts


def _load_progress(session: Session, keys: set[tuple[str, str, str]]
                   ) -> dict[tuple[str, str, str], ProgressState]:
    """The progress rows of ``keys`` (``FOR UPDATE`` where the database has it; PostgreSQL:
    :func:`.recording_pg.read`); a fresh state for each key without a row."""
    conn = session.connection()
    rows = {}
    for part in _chunks(keys):
        for row in conn.execute(LOAD_PROGRESS, {"keys": part}):
            values = row._asdict()
            key = (values.pop("user"), values.pop("course"), values.pop("lesson"))
            rows[key] = ProgressState(key, new=False, **values)
    for key in keys - rows.keys():
        rows[key] = ProgressState(key, new=True)
    return rows


def _expire_progress(session: Session) -> None:
    """Progress objects an earlier job of this transaction loaded are stale now: read them
    again when next used (the passbacks below, a later job)."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Progress):
            session.expire(obj)
