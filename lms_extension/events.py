"""A durable queue of learner events in the lesson server, and the task that forwards it.

Events from JupyterLab are written to a SQLite file in the learner's home (which outlives the
container) before anything else happens, then sent to the LMS service in batches. Each event
keeps the id it was given, so a batch that is sent again after a lost answer is counted once by
the service. While the service cannot be reached the events wait, with growing pauses between
tries; an event the service refuses (HTTP 400 naming ``events.N``) is set aside in a dead-letter
table instead of blocking the queue.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

log = logging.getLogger(__name__)
_REFUSED = re.compile(r"^events\.(\d+)")


class EventQueue:
    """Events waiting to be sent, in a SQLite file (one writer: this server)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS queue (id TEXT PRIMARY KEY, body TEXT NOT NULL,"
                         " queued_at REAL NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS refused (id TEXT PRIMARY KEY, body TEXT NOT NULL,"
                         " reason TEXT NOT NULL, refused_at REAL NOT NULL)")

    def put(self, events: list[dict]) -> int:
        """Store events (an id already queued is ignored); return how many were new."""
        now = time.time()
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO queue VALUES (?, ?, ?)",
                                 [(e["id"], json.dumps(e), now) for e in events])
            self._db.execute("COMMIT")
            return self._db.total_changes - before

    def peek(self, limit: int) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM queue ORDER BY queued_at, rowid LIMIT ?",
                                    (limit,)).fetchall()
        return [json.loads(body) for (body,) in rows]

    def remove(self, ids: list[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM queue WHERE id = ?", [(i,) for i in ids])

    def refuse(self, event: dict, reason: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO refused VALUES (?, ?, ?, ?)",
                             (event["id"], json.dumps(event), reason, time.time()))
            self._db.execute("DELETE FROM queue WHERE id = ?", (event["id"],))

    def counts(self) -> dict:
        with self._lock:
            queued = self._db.execute("SELECT COUNT(*) FROM queue").fetchone()[0]
            refused = self._db.execute("SELECT COUNT(*) FROM refused").fetchone()[0]
        return {"queued": queued, "refused": refused}


class EventForwarder:
    """Sends the queue to ``{service_url}/api/events`` with the server's hub token."""

    def __init__(self, queue: EventQueue, service_url: str, token: str, batch_size: int = 200,
                 max_pause: float = 60.0):
        self.queue = queue
        self.url = service_url.rstrip("/") + "/api/events" if service_url else ""
        self.token = token
        self.batch_size = batch_size
        self.max_pause = max_pause
        self.failures = 0
        self.last_error = ""
        self.last_sent = 0.0
        self.next_try = 0.0

    def status(self) -> dict:
        return {**self.queue.counts(), "last_error": self.last_error,
                "last_sent": self.last_sent or None, "service": self.url}

    async def flush(self, force: bool = False) -> int:
        """Send what is queued, batch by batch, until empty or the service fails; return the
        number of events the service now holds that it did not before."""
        if not self.url or (not force and time.monotonic() < self.next_try):
            return 0
        accepted = 0
        while batch := self.queue.peek(self.batch_size):
            try:
                response = await AsyncHTTPClient().fetch(
                    self.url, method="POST", body=json.dumps({"events": batch}),
                    headers={"Authorization": f"token {self.token}",
                             "Content-Type": "application/json"}, request_timeout=30)
            except HTTPClientError as exc:
                if exc.code == 400 and self._set_aside(batch, exc):
                    continue
                return accepted + self._failed(f"HTTP {exc.code}: {_message(exc)}")
            except OSError as exc:
                return accepted + self._failed(f"{type(exc).__name__}: {exc}")
            result = json.loads(response.body)
            self.queue.remove([e["id"] for e in batch])
            accepted += result.get("accepted", 0)
            self.failures, self.last_error, self.last_sent = 0, "", time.time()
        return accepted

    def _set_aside(self, batch: list[dict], exc: HTTPClientError) -> bool:
        message = _message(exc)
        match = _REFUSED.match(message)
        if not match or int(match.group(1)) >= len(batch):
            return False
        self.queue.refuse(batch[int(match.group(1))], message)
        log.warning("lms_extension: the LMS service refused an event: %s", message)
        return True

    def _failed(self, reason: str) -> int:
        self.failures += 1
        self.last_error = reason
        pause = min(self.max_pause, 2 ** min(self.failures, 10))
        self.next_try = time.monotonic() + pause
        log.info("lms_extension: events stay queued (%s); next try in %.0f s", reason, pause)
        return 0


def _message(exc: HTTPClientError) -> str:
    try:
        return json.loads(exc.response.body)["message"]
    except (AttributeError, TypeError, ValueError, KeyError):
        return str(exc)
