"""Many batches in one writer transaction, on the service's real database (SQLite and
PostgreSQL): the batches are recorded as if one after the other, and the other writes of the
same transaction (the deadline task, knowledge checks) see what they changed."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from lms_extension.content.wire import EventIn
from lms_extension.service.content import CatalogIndex
from lms_extension.service.db import Event, Progress, make_engine, make_sessionmaker
from lms_extension.service.migrate import ensure_schema
from lms_extension.service.progress import COMPLETED, DELAYED, mark_delayed
from lms_extension.service.quotas import StoredEvents
from lms_extension.service.recording import Batch, record_batches
from lms_extension.service.writer import Writer

COURSE = "rec-course"
CELLS = [f"cell-{n}" for n in range(4)]
INDEX = CatalogIndex("v1", {"courses": [{"slug": COURSE, "lessons": [
    {"slug": slug, "title": slug, "code_cells": len(CELLS), "code_cell_ids": CELLS,
     "completion": {"rule": "executed", "fraction": 1.0}}
    for slug in ("one", "two")]}]})
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sessions(db_url):
    engine = make_engine(db_url)
    ensure_schema(engine, db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def ran(cell: str, ok: bool = True, seconds: float = 1, lesson: str = "one",
        at: datetime = NOW, event_id: str | None = None) -> EventIn:
    return EventIn(id=event_id or str(uuid.uuid4()), kind="cell_executed", course=COURSE,
                   lesson=lesson, at=at, cell_id=cell, ok=ok, active_seconds=seconds)


def progress(sessions, user: str, lesson: str = "one") -> Progress | None:
    with sessions() as session:
        return session.get(Progress, (user, COURSE, lesson))


def test_batches_of_one_transaction_follow_each_other(sessions):
    user = f"rec-{uuid.uuid4().hex[:8]}"
    first = [ran(CELLS[0]), ran("scratch", ok=False, seconds=5)]
    again = [EventIn.model_validate(e.model_dump()) for e in first]  # the batch resent
    later = [ran(CELLS[1], lesson="two"), ran(CELLS[1], seconds=2), first[0]]
    with sessions() as session:
        done = record_batches(session, [Batch(user, first, INDEX, NOW),
                                        Batch(user, again, INDEX, NOW),
                                        Batch(user, later, INDEX, NOW)])
        session.commit()
    assert [(len(d.accepted), len(d.duplicates)) for d in done] == [(2, 0), (0, 2), (2, 1)]
    assert done[1].taken == [str(e.id) for e in first]
    row = progress(sessions, user)
    assert (row.cells_ok, row.errors, row.active_seconds) == ([CELLS[0], CELLS[1]], 1, 8)
    assert progress(sessions, user, "two").cells_ok == [CELLS[1]]
    with sessions() as session:
        stored = session.query(Event).filter(Event.user == user).count()
    assert stored == 4


def test_the_stored_events_quota_counts_the_batches_before(sessions):
    user = f"rec-{uuid.uuid4().hex[:8]}"
    quota = StoredEvents(3)
    with sessions() as session:
        done = record_batches(session, [Batch(user, [ran("a"), ran("b")], INDEX, NOW),
                                        Batch(user, [ran("c"), ran("d")], INDEX, NOW)], quota)
        session.commit()
    assert [(len(d.accepted), len(d.over_quota)) for d in done] == [(2, 0), (1, 1)]
    assert len(done[1].taken) == 1


def test_learners_first_met_together_are_held_to_the_events_they_stored_before(sessions):
    """After a restart the quota counts the stored events of every learner the writer's next
    transaction meets, all at once (one statement, in the same round trip as the duplicate
    check on PostgreSQL), and holds each of them to their own count."""
    ana, ben, cid = (f"rec-{uuid.uuid4().hex[:8]}" for _ in range(3))
    with sessions() as session:  # before the restart
        record_batches(session, [Batch(ana, [ran("a"), ran("b")], INDEX, NOW),
                                 Batch(ben, [ran("a"), ran("b"), ran("c")], INDEX, NOW)],
                       StoredEvents(3))
        session.commit()
    quota = StoredEvents(3)  # the restarted service's
    with sessions() as session:
        done = record_batches(session, [
            Batch(ana, [ran("c"), ran("d")], INDEX, NOW),
            Batch(ben, [ran("d")], INDEX, NOW),
            Batch(cid, [ran(cell) for cell in "abcd"], INDEX, NOW),
            Batch(ana, [ran("e")], INDEX, NOW)], quota)
        session.commit()
    assert [(len(d.accepted), len(d.over_quota)) for d in done] == [(1, 1), (0, 1), (3, 1),
                                                                     (0, 1)]
    with sessions() as session:
        stored = {user: session.query(Event).filter(Event.user == user).count()
                  for user in (ana, ben, cid)}
    assert stored == {ana: 3, ben: 3, cid: 3}


def test_a_deadline_run_after_a_completion_in_the_same_transaction_keeps_it(sessions):
    user = f"rec-{uuid.uuid4().hex[:8]}"
    key = (user, COURSE, "one")
    with sessions() as session:
        record_batches(session, [Batch(user, [ran(CELLS[0])], INDEX, NOW)])
        session.commit()
    with sessions() as session:
        loaded = session.get(Progress, key)  # an earlier job of the transaction read it
        assert loaded.status == "in_progress"
        record_batches(session, [Batch(user, [ran(c) for c in CELLS[1:]], INDEX, NOW)])
        assert session.get(Progress, key).status == COMPLETED  # as the LTI scores read it
        assert mark_delayed(session, INDEX, {key: NOW - timedelta(days=1)}, NOW) == 0
        session.commit()
    assert progress(sessions, user).status == COMPLETED


def test_a_completion_after_a_deadline_run_in_the_same_transaction_wins(sessions):
    user = f"rec-{uuid.uuid4().hex[:8]}"
    key = (user, COURSE, "one")
    with sessions() as session:
        record_batches(session, [Batch(user, [ran(CELLS[0])], INDEX, NOW)])
        session.commit()
    with sessions() as session:
        assert mark_delayed(session, INDEX, {key: NOW - timedelta(days=1)}, NOW) == 1
        record_batches(session, [Batch(user, [ran(c) for c in CELLS[1:]], INDEX, NOW)])
        session.commit()
    row = progress(sessions, user)
    assert (row.status, len(row.cells_ok)) == (COMPLETED, len(CELLS))
    assert row.status != DELAYED


class Job:
    """A job that can run together with others of its kind, as event batches do."""

    def __init__(self, log: list, name: str):
        self.log, self.name = log, name

    def __call__(self, session):
        return self.run_together(session, [self])[0]

    @classmethod
    def run_together(cls, session, jobs):
        jobs[0].log.append([job.name for job in jobs])
        return [job.name for job in jobs]


def test_the_writer_hands_consecutive_batches_over_together(sessions):
    writer = Writer(sessions)
    try:
        log: list = []
        other = []
        jobs = [Job(log, "a"), Job(log, "b"), lambda s: other.append("x") or "x",
                Job(log, "c")]
        assert writer._transaction(jobs) == ["a", "b", "x", "c"]
        assert log == [["a", "b"], ["c"]] and other == ["x"]
    finally:
        writer.stop()


class LoopJob(Job):
    """A small job the writer may run on the event loop, as it does learner event batches;
    it notes the thread it ran on, and fails when named ``bad``."""

    on_loop = True

    @classmethod
    def run_together(cls, session, jobs):
        if any(job.name == "bad" for job in jobs):
            raise ValueError("a bad batch")
        jobs[0].log.append([(job.name, threading.current_thread().name) for job in jobs])
        return [job.name for job in jobs]


def test_the_writer_runs_event_batches_on_the_loop_in_order_with_its_other_writes(sessions):
    """On SQLite the writer records learners' batches on the event loop, a few at a time, with
    the requests that arrive meanwhile served between two groups; its other writes run on its
    own thread; all of them in the order they came, and a bad batch fails alone."""
    writer = Writer(sessions, on_loop=True, max_group_on_loop=2)
    log: list = []

    def other(session):
        log.append([("x", threading.current_thread().name)])
        return "x"

    async def request():
        await asyncio.sleep(0)
        log.append("request")

    async def main():
        jobs = [LoopJob(log, n) for n in ("a", "b", "c")] + [other] + [
            LoopJob(log, n) for n in ("d", "bad", "e", "f", "g", "h", "i")]
        return await asyncio.gather(*(writer.run(j) for j in jobs), request(),
                                    return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        writer.stop()
    assert results[:5] == ["a", "b", "c", "x", "d"]
    assert isinstance(results[5], ValueError) and results[6:11] == ["e", "f", "g", "h", "i"]
    groups = [entry for entry in log if entry != "request"]
    loop_thread = threading.current_thread().name
    assert groups[:3] == [[("a", loop_thread), ("b", loop_thread)], [("c", loop_thread)],
                          [("x", "lms-writer_0")]]
    assert [name for group in groups[3:] for name, _ in group] == ["d", "e", "f", "g", "h", "i"]
    assert all(len(group) <= 2 for group in groups)
    assert 0 < log.index("request") < len(log) - 2  # not kept waiting behind every batch


def test_the_writer_on_its_thread_runs_every_write_there(sessions):
    """On PostgreSQL (``on_loop`` false) learners' batches run on the writer's thread too."""
    writer = Writer(sessions, on_loop=False)
    log: list = []

    async def main():
        return await asyncio.gather(*(writer.run(LoopJob(log, n)) for n in "abc"))

    try:
        assert asyncio.run(main()) == ["a", "b", "c"]
    finally:
        writer.stop()
    assert {thread for group in log for _, thread in group} == {"lms-writer_0"}
    assert [name for group in log for name, _ in group] == ["a", "b", "c"]



def test_the_duplicate_check_keeps_using_the_index_as_the_events_grow(postgres_url):
    """On PostgreSQL a batch's duplicate check looks its ids up in the index however many
    batches came while the table was small: a plan kept from then (a server-side prepared
    statement) scanned every stored event for every batch, and ingestion slowed as the events
    grew."""
    engine = make_engine(postgres_url)
    ensure_schema(engine, postgres_url)
    sessions = make_sessionmaker(engine)
    user = f"rec-{uuid.uuid4().hex[:8]}"

    def record(count: int) -> int:
        """Record a batch; how many stored events it read by scanning the table (the counter
        of the session's statistics not yet flushed, before and after)."""
        with sessions() as session:
            def scanned() -> int:
                return session.connection().exec_driver_sql(
                    "SELECT seq_tup_read FROM pg_stat_xact_user_tables WHERE relname = 'events'"
                ).scalar()

            before = scanned()
            record_batches(session, [Batch(user, [ran(CELLS[n % 4]) for n in range(count)],
                                           INDEX, NOW)])
            after = scanned()
            session.commit()
        return after - before

    try:
        for _ in range(16):  # past psycopg's 5 runs before it prepares a statement, and the
            record(2)        # 5 plans PostgreSQL makes for it before it keeps a generic one
        record(20_000)
        assert [record(2) for _ in range(3)] == [0, 0, 0]
    finally:
        engine.dispose()
