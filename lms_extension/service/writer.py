"""The single writer: every write that changes progress runs on one thread, in order.

Learner events, survey answers and the deadline task all read a progress row, change it and
write it back. Run concurrently (two tabs, two lesson servers, a resent batch, the deadline task
during a ``lesson_completed``) such read-modify-writes lose updates, and two first inserts of
the same row collide. On one thread they cannot interleave, on SQLite and PostgreSQL alike,
without row locks or retries in the rules themselves.

The thread takes every job that is waiting and runs them in one transaction (group commit):
under load one commit serves many batches. Jobs that can run together (a ``run_together``
class method, e.g. learner event batches, :mod:`.recording`) are handed over all at once when
they follow each other in the queue, so that many batches cost a few bulk statements. If that
transaction fails, each job of the group runs again in a transaction of its own, so one bad
job fails alone. A job whose transaction hits a conflict made by another process (a unique
key, a serialization failure) is run again from the start, up to ``attempts`` times.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

Job = Callable[[Session], Any]


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` on the writer thread once the job's transaction is committed (never
    when it is rolled back)."""
    session.info.setdefault("after_commit", []).append(callback)


class Writer:
    """One thread that runs write jobs ``job(session)`` in order, in group commits."""

    def __init__(self, sessions: sessionmaker, max_group: int = 64, attempts: int = 3):
        self.sessions = sessions
        self.max_group = max_group
        self.attempts = attempts
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="lms-writer", daemon=True)
        self._thread.start()

    async def run(self, job: Job) -> Any:
        """Run ``job`` on the writer thread, commit, and return its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((job, loop, future))
        return await future

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=10)

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            group = [item]
            while len(group) < self.max_group:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._run_group(group)
                    return
                group.append(more)
            self._run_group(group)

    def _run_group(self, group: list) -> None:
        if len(group) > 1:
            try:
                results = self._transaction([job for job, _, _ in group])
            except Exception:  # noqa: BLE001 - each job runs again alone and reports its own error
                log.debug("a group of %d writes failed; running them one by one", len(group))
            else:
                for (_, loop, future), result in zip(group, results, strict=True):
                    _settle(loop, future, result=result)
                return
        for job, loop, future in group:
            try:
                result = self._with_retries(job)
            except Exception as exc:  # noqa: BLE001 - handed to the waiting coroutine
                _settle(loop, future, error=exc)
            else:
                _settle(loop, future, result=result)

    def _with_retries(self, job: Job) -> Any:
        for attempt in range(1, self.attempts + 1):
            try:
                return self._transaction([job])[0]
            except (IntegrityError, OperationalError) as exc:
                if attempt == self.attempts or not _conflict(exc):
                    raise
                log.info("write conflict (%s); running the write again", exc.orig)
        raise AssertionError("unreachable")

    def _transaction(self, jobs: list[Job]) -> list[Any]:
        with self.sessions() as session:
            results = []
            for together, run in _runs(jobs):
                results.extend(together(session, run) if together else [run[0](session)])
            session.commit()
            callbacks = session.info.pop("after_commit", [])
        for callback in callbacks:
            callback()
        return results


def _runs(jobs: list[Job]) -> list[tuple[Callable | None, list[Job]]]:
    """The jobs cut into runs: consecutive jobs with the same ``run_together`` form one run,
    any other job a run of its own (``None``: call the job itself)."""
    runs: list[tuple[Callable | None, list[Job]]] = []
    for job in jobs:
        together = getattr(job, "run_together", None)
        if together is not None and runs and runs[-1][0] == together:
            runs[-1][1].append(job)
        else:
            runs.append((together, [job]))
    return runs


def _conflict(exc: DBAPIError) -> bool:
    """A conflict with a concurrent transaction that running the job again resolves."""
    if isinstance(exc, IntegrityError):
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40001", "40P01") or "database is locked" in str(exc.orig)


def _settle(loop: asyncio.AbstractEventLoop, future: asyncio.Future, result=None,
            error: BaseException | None = None) -> None:
    def settle():
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    loop.call_soon_threadsafe(settle)
