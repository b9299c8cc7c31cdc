"""The durable queue of learner events in the learner's home, which outlives the container.

A SQLite file that every server of the learner on the same home volume may write to (they only
add events; one of them forwards, see :mod:`.forwarder`). ``queue`` holds the events waiting to
be sent, in the order they came; ``refused`` the events the LMS service (or this server) will
never take, each with the field at fault and the reason, so the learner can be told.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000
MAX_REFUSED = 1000  # events set aside that are kept for the learner to see
MAX_REFUSED_BODY = 8192  # characters of each that are kept


def encode(event: dict) -> str:
    """An event as it is stored and sent: compact JSON (its size is what a batch costs)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


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
        if "field" not in columns:  # a queue file of an earlier version of this extension
            with contextlib.suppress(sqlite3.OperationalError):  # another server added it
                self._db.execute("ALTER TABLE refused ADD COLUMN field TEXT NOT NULL DEFAULT ''")

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

    def refuse(self, refusals: list[tuple[dict, str, str]], dequeue: bool = True) -> None:
        """Set events aside for good: ``[(event, field, reason), ...]``, taken out of the queue
        (``dequeue``) too. The newest ``MAX_REFUSED`` are kept."""
        now = time.time()
        with self._transaction() as db:
            for event, field, reason in refusals:
                event_id = str(event.get("id"))
                db.execute("INSERT OR REPLACE INTO refused (id, body, reason, refused_at, field)"
                           " VALUES (?, ?, ?, ?, ?)",
                           (event_id, encode(event)[:MAX_REFUSED_BODY], reason[:1000], now, field))
                if dequeue:
                    db.execute("DELETE FROM queue WHERE id = ?", (event_id,))
            db.execute("DELETE FROM refused WHERE rowid NOT IN (SELECT rowid FROM refused "
                       "ORDER BY refused_at DESC, rowid DESC LIMIT ?)", (MAX_REFUSED,))

    def counts(self) -> dict:
        with self._lock:
            queued = self._db.execute("SELECT COUNT(*) FROM queue").fetchone()[0]
            refused = self._db.execute("SELECT COUNT(*) FROM refused").fetchone()[0]
        return {"queued": queued, "refused": refused}

    def refusals(self, limit: int = 20) -> list[dict]:
        """The latest events set aside, newest first."""
        with self._lock:
            rows = self._db.execute("SELECT id, field, reason, refused_at FROM refused "
                                    "ORDER BY refused_at DESC, rowid DESC LIMIT ?",
                                    (limit,)).fetchall()
        return [{"id": i, "field": f, "reason": r, "at": at} for i, f, r, at in rows]
