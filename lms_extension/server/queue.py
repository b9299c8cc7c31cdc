"""The durable queue of learner events in the learner's home, which outlives the container.

A SQLite file that every server of the learner on the same home volume may write to (they only
add events; one of them forwards, see :mod:`.forwarder`). ``queue`` holds the events waiting to
be sent, in the order they came; ``refused`` the events the LMS service (or this server) will
never take, each with the field at fault and the reason, so the learner can be told. An event
this server refused itself never reaches the service: its row holds a ``report`` (a
:class:`~lms_extension.content.wire.RefusalReport`, JSON) until the forwarder has told the
service, so that the learner's instructors see it too; ``report`` is empty once the service
holds it (or when the service refused the event itself and so knows of it already).
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ..content.model import SLUG_PATTERN
from ..content.wire import MAX_REPORT_BODY, RefusalReport, event_id

BUSY_TIMEOUT_MS = 10_000
MAX_REFUSED = 1000  # events set aside that are kept for the learner to see
MAX_REFUSED_BODY = 8192  # characters of each that are kept


def encode(event: dict) -> str:
    """An event as it is stored and sent: compact JSON (its size is what a batch costs)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def report_of(event: dict, field: str, reason: str, at: float) -> str:
    """What the LMS service is told of an event this server refused: a ``RefusalReport`` as
    JSON, under the event's id (a made-up one for an event without a readable id)."""
    key = str(event.get("id"))
    if not _REPORT_ID.fullmatch(key):
        key = f"unreadable-{uuid.uuid4()}"
    text = encode(event)
    return RefusalReport(
        report_id=key, id=event_id(event), course=_slug(event.get("course")),
        lesson=_slug(event.get("lesson")), field=field[:200] or "events",
        reason=reason[:1000] or "refused", at=datetime.fromtimestamp(at, UTC),
        body=text if len(text) <= MAX_REPORT_BODY else text[:MAX_REPORT_BODY] + "\u2026",
    ).model_dump_json()


_REPORT_ID = re.compile(RefusalReport.model_fields["report_id"].metadata[0].pattern)


def _slug(value) -> str | None:
    return value if isinstance(value, str) and re.fullmatch(SLUG_PATTERN, value) else None


class EventQueue:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS queue (id TEXT PRIMARY KEY,"
                         " body TEXT NOT NULL, queued_at REAL NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS refused (id TEXT PRIMARY KEY,"
                         " body TEXT NOT NULL, reason TEXT NOT NULL, refused_at REAL NOT NULL)")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(refused)")}
        # a queue file of an earlier version of this extension (its rows are not reported)
        for column, kind in (("field", "TEXT NOT NULL DEFAULT ''"), ("report", "TEXT")):
            if column not in columns:
                with contextlib.suppress(sqlite3.OperationalError):  # another server added it
                    self._db.execute(f"ALTER TABLE refused ADD COLUMN {column} {kind}")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (other servers of the home wait for it)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def put(self, events: list[dict]) -> int:
        """Store events (an id already queued is ignored); return how many were new."""
        now = time.time()
        with self._transaction() as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO queue VALUES (?, ?, ?)",
                           [(e["id"], encode(e), now) for e in events])
            return db.total_changes - before

    def peek(self, limit: int) -> list[str]:
        """The oldest ``limit`` events, encoded."""
        with self._lock:
            rows = self._db.execute("SELECT body FROM queue ORDER BY queued_at, rowid LIMIT ?",
                                    (limit,)).fetchall()
        return [body for (body,) in rows]

    def remove(self, ids: list[str]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM queue WHERE id = ?", [(i,) for i in ids])

    def refuse(self, refusals: list[tuple[dict, str, str]], dequeue: bool = True,
               report: bool = False) -> None:
        """Set events aside for good: ``[(event, field, reason), ...]``, taken out of the queue
        (``dequeue``) too; with ``report``, refused by this server (the LMS service is to be
        told). The newest ``MAX_REFUSED`` are kept."""
        now = time.time()
        with self._transaction() as db:
            for event, field, reason in refusals:
                key = str(event.get("id"))
                told = report_of(event, field, reason, now) if report else None
                db.execute("INSERT OR REPLACE INTO refused (id, body, reason, refused_at, field,"
                           " report) VALUES (?, ?, ?, ?, ?, ?)",
                           (key, encode(event)[:MAX_REFUSED_BODY], reason[:1000], now, field,
                            told))
                if dequeue:
                    db.execute("DELETE FROM queue WHERE id = ?", (key,))
            db.execute("DELETE FROM refused WHERE rowid NOT IN (SELECT rowid FROM refused "
                       "ORDER BY refused_at DESC, rowid DESC LIMIT ?)", (MAX_REFUSED,))

    def unreported(self, limit: int) -> list[tuple[str, str]]:
        """The oldest ``limit`` refusals the LMS service is yet to be told of: ``(id,
        report)``."""
        with self._lock:
            return self._db.execute("SELECT id, report FROM refused WHERE report IS NOT NULL "
                                    "ORDER BY refused_at, rowid LIMIT ?", (limit,)).fetchall()

    def mark_reported(self, ids: list[str]) -> None:
        with self._transaction() as db:
            db.executemany("UPDATE refused SET report = NULL WHERE id = ?", [(i,) for i in ids])

    def counts(self) -> dict:
        with self._lock:
            queued = self._db.execute("SELECT COUNT(*) FROM queue").fetchone()[0]
            refused, unreported = self._db.execute(
                "SELECT COUNT(*), COUNT(report) FROM refused").fetchone()
        return {"queued": queued, "refused": refused, "unreported": unreported}

    def refusals(self, limit: int = 20) -> list[dict]:
        """The latest events set aside, newest first; ``reported``: the LMS service knows of
        it (it refused the event, or this server told it)."""
        with self._lock:
            rows = self._db.execute("SELECT id, field, reason, refused_at, report IS NULL "
                                    "FROM refused ORDER BY refused_at DESC, rowid DESC LIMIT ?",
                                    (limit,)).fetchall()
        return [{"id": i, "field": f, "reason": r, "at": at, "reported": bool(told)}
                for i, f, r, at, told in rows]
