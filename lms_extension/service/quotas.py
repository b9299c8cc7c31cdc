"""A learner's quotas: events per minute (a token bucket, in memory) and stored events (a count
per learner, kept by the single writer)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .db import Event
from .writer import after_commit


class RateLimiter:
    """At most ``per_minute`` events per learner and minute, with bursts up to ``per_minute``:
    each learner has a bucket of that many tokens, refilled at ``per_minute / 60`` per second.
    Used on the event loop only. ``per_minute`` 0: no limit."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 max_learners: int = 100_000):
        self.per_minute = per_minute
        self.clock = clock
        self.max_learners = max_learners
        self._buckets: dict[str, tuple[float, float]] = {}  # user -> (tokens, at)

    def take(self, user: str, wanted: int) -> tuple[int, float]:
        """Take up to ``wanted`` tokens for ``user``: ``(granted, retry_after)``, where
        ``retry_after`` is the seconds until the rest would be granted (0 when all were)."""
        if self.per_minute <= 0 or wanted <= 0:
            return wanted, 0.0
        rate = self.per_minute / 60.0
        now = self.clock()
        tokens, at = self._buckets.get(user, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - at) * rate)
        granted = min(wanted, int(tokens))
        tokens -= granted
        if len(self._buckets) >= self.max_learners and user not in self._buckets:
            self._forget_full(now, rate)
        self._buckets[user] = (tokens, now)
        if granted == wanted:
            return granted, 0.0
        missing = (wanted - granted) - tokens
        return granted, min(60.0, max(1.0, missing / rate))

    def _forget_full(self, now: float, rate: float) -> None:
        """Drop the buckets that have refilled: they hold nothing a new bucket would not."""
        self._buckets = {user: (tokens, at) for user, (tokens, at) in self._buckets.items()
                         if tokens + (now - at) * rate < self.per_minute}


class StoredEvents:
    """How many events each learner has stored, against ``limit`` (0: no limit). Used on the
    single writer only: counted once per learner from the database, then kept up to date as
    the writer's transactions commit. The learners a transaction meets for the first time are
    counted together (:meth:`uncounted`, :meth:`counted`), in one statement."""

    def __init__(self, limit: int):
        self.limit = limit
        self._counts: dict[str, int] = {}

    def uncounted(self, users: Iterable[str]) -> list[str]:
        """Which of ``users`` this quota has still to count (none without a limit)."""
        if self.limit <= 0:
            return []
        return sorted({user for user in users if user not in self._counts})

    def counted(self, counts: dict[str, int]) -> None:
        """The stored events of the learners :meth:`uncounted` named, as the database holds
        them (committed rows: the single writer adds no other)."""
        self._counts.update(counts)

    def room(self, session: Session, user: str) -> int | None:
        """How many more events ``user`` may store (None: no limit)."""
        if self.limit <= 0:
            return None
        return max(0, self.limit - self._count(session, user))

    def add(self, session: Session, user: str, stored: int) -> None:
        """``user`` stored ``stored`` more events in this transaction."""
        if self.limit <= 0 or not stored:
            return
        pending = self._pending(session)
        pending[user] = self._count(session, user) + stored

    def _count(self, session: Session, user: str) -> int:
        pending = self._pending(session)
        if user in pending:
            return pending[user]
        if user not in self._counts:
            self._counts[user] = session.scalar(
                select(func.count()).select_from(Event).where(Event.user == user)) or 0
        return self._counts[user]

    def _pending(self, session: Session) -> dict[str, int]:
        if "stored_events" not in session.info:
            pending: dict[str, int] = {}
            session.info["stored_events"] = pending
            after_commit(session, lambda: self._counts.update(pending))
        return session.info["stored_events"]
