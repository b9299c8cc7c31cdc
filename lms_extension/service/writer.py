"""The single writer: every write that changes progress runs in order, one transaction at a
time.

Learner events, survey answers and the deadline task all read a progress row, change it and
write it back. Run concurrently (two tabs, two lesson servers, a resent batch, the deadline task
during a ``lesson_completed``) such read-modify-writes lose updates, and two first inserts of
the same row collide. Run one after the other they cannot interleave, on SQLite and PostgreSQL
alike, without row locks or retries in the rules themselves.

The writer takes every job that is waiting and runs them in one transaction (group commit):
under load one commit serves many batches. Jobs that can run together (a ``run_together``
class method, e.g. learner event batches, :mod:`.recording`) are handed over all at once when
they follow each other in the queue, so that many batches cost a few bulk statements. If that
transaction fails, each job of the group runs again in a transaction of its own, so one bad
job fails alone. A job whose transaction hits a conflict made by another process (a unique
key, a serialization failure) is run again from the start, up to ``attempts`` times.

Where a group runs: on the writer's own thread, or, when the writer is made ``on_loop`` and
every job of the group is small (its ``on_loop`` attribute is true: a learner's event batch),
on the event loop itself, between two requests. On SQLite, whose statements never wait on a
network, that is the fast way: handing each batch to another thread and its answer back makes
the two threads take turns at the interpreter lock, which doubled the latency of a request
under load. On the loop, a group holds at most ``max_group_on_loop`` jobs, and the loop serves
the requests waiting meanwhile before it runs the next. On PostgreSQL every group runs on the
thread: while it waits on the database server, the loop serves requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

Job = Callable[[Session], Any]


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` where the job ran (the writer's thread or the loop) once its transaction
    is committed (never when it is rolled back)."""
    session.info.setdefault("after_commit", []).append(callback)


class Writer:
    """Runs write jobs ``job(session)`` in order, in group commits (see the module)."""

    def __init__(self, sessions: sessionmaker, max_group: int = 64, attempts: int = 3,
                 on_loop: bool = False, max_group_on_loop: int = 8):
        self.sessions = sessions
        self.max_group = max_group
        self.attempts = attempts
        self.on_loop = on_loop
        self.max_group_on_loop = max_group_on_loop
        self._waiting: deque[tuple[Job, asyncio.Future]] = deque()
        self._draining: asyncio.Task | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="lms-writer")

    async def run(self, job: Job) -> Any:
        """Run ``job`` after every job handed over before it, commit, and return its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((job, future))
        if self._draining is None:
            self._draining = loop.create_task(self._drain())
        return await future

    def stop(self) -> None:
        self._thread.shutdown(wait=True)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                group, here = self._next_group()
                jobs = [job for job, _ in group]
                if here:
                    outcomes = self._run_group(jobs)
                else:
                    outcomes = await loop.run_in_executor(self._thread, self._run_group, jobs)
                for (_, future), (error, result) in zip(group, outcomes, strict=True):
                    if future.done():  # the request went away
                        continue
                    if error is not None:
                        future.set_exception(error)
                    else:
                        future.set_result(result)
                if here:
                    await asyncio.sleep(0)  # the requests waiting meanwhile go first
        finally:
            self._draining = None

    def _next_group(self) -> tuple[list[tuple[Job, asyncio.Future]], bool]:
        """The jobs of the next transaction, and whether it runs on the loop: as many of the
        waiting jobs as fit, all of them run where the first one runs (on the loop, fewer)."""
        here = self._here(self._waiting[0][0])
        limit = self.max_group_on_loop if here else self.max_group
        group = []
        while self._waiting and len(group) < limit and self._here(self._waiting[0][0]) == here:
            group.append(self._waiting.popleft())
        return group, here

    def _here(self, job: Job) -> bool:
        """Whether ``job`` runs on the loop."""
        return self.on_loop and getattr(job, "on_loop", False)

    def _run_group(self, group: list[Job]) -> list[tuple[BaseException | None, Any]]:
        """Each job's outcome: (None, result) or (error, None)."""
        if len(group) > 1:
            try:
                return [(None, result) for result in self._transaction(group)]
            except Exception:  # noqa: BLE001 - each job runs again alone and reports its own error
                log.debug("a group of %d writes failed; running them one by one", len(group))
        outcomes: list[tuple[BaseException | None, Any]] = []
        for job in group:
            try:
                outcomes.append((None, self._with_retries(job)))
            except Exception as exc:  # noqa: BLE001 - handed to the waiting coroutine
                outcomes.append((exc, None))
        return outcomes

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
