"""The single writer on a real PostgreSQL server: how many times a transaction of event batches
waits for the server, a connection the server dropped while it rested, and a concurrent insert
of the same event by another process."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from lms_extension.service import db
from lms_extension.service.db import Event, Progress, make_engine, make_sessionmaker
from lms_extension.service.migrate import ensure_schema
from lms_extension.service.quotas import StoredEvents
from lms_extension.service.recording import Batch, record_batches
from lms_extension.service.writer import Writer

from .test_recording import CELLS, COURSE, INDEX, NOW, ran

ANSWER_DELAY = 0.15  # seconds the relay holds each answer of the server


class SlowLink:
    """A TCP relay to the PostgreSQL server that holds each of the server's answers
    ``ANSWER_DELAY`` seconds, as a network between the service and its database would, and
    counts the client's round trips: the times it sent something after an answer reached it.
    Statements sent together, without waiting for each other's answers, are one round trip."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.round_trips = 0
        self._answered = True
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self._lock:
            self.round_trips, self._answered = 0, True

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            threading.Thread(target=self._asks, args=(client, server), daemon=True).start()
            threading.Thread(target=self._answers, args=(server, client), daemon=True).start()

    def _asks(self, client: socket.socket, server: socket.socket) -> None:
        while data := _recv(client):
            with self._lock:
                if self._answered:
                    self.round_trips += 1
                    self._answered = False
            server.sendall(data)
        server.close()

    def _answers(self, server: socket.socket, client: socket.socket) -> None:
        while data := _recv(server):
            time.sleep(ANSWER_DELAY)
            with self._lock:
                client.sendall(data)
                self._answered = True
        client.close()

    def close(self) -> None:
        self.listener.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


@pytest.fixture(scope="module")
def pg_url(postgres_url):
    engine = make_engine(postgres_url)
    ensure_schema(engine, postgres_url)
    engine.dispose()
    return postgres_url


def test_a_transaction_of_event_batches_waits_for_the_database_four_times(pg_url):
    """Three learners' batches, two of them met for the first time by the stored-events quota:
    the transaction's ``BEGIN``, one statement for the duplicate check, the progress rows and
    the learners' counts, one for the events and progress rows, and the ``COMMIT``. Sent one
    by one, its statements waited ten times; each wait is a round trip on the network between
    the service and its database server."""
    url = make_url(pg_url)
    link = SlowLink(url.host, url.port or 5432)
    engine = make_engine(url.set(host="127.0.0.1", port=link.port).render_as_string(False))
    sessions = make_sessionmaker(engine)
    users = [f"rt-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    quota = StoredEvents(1000)
    try:
        with sessions() as session:  # the connection is made and the first learner counted
            record_batches(session, [Batch(users[0], [ran(CELLS[0])], INDEX, NOW)], quota)
            session.commit()
        link.reset()
        with sessions() as session:
            done = record_batches(session, [
                Batch(users[0], [ran(CELLS[1]), ran(CELLS[2])], INDEX, NOW),
                Batch(users[1], [ran(CELLS[0]), ran(CELLS[1], lesson="two")], INDEX, NOW),
                Batch(users[2], [ran(CELLS[3])], INDEX, NOW)], quota)
            session.commit()
        assert link.round_trips == 4
    finally:
        engine.dispose()
        link.close()
    assert [len(d.accepted) for d in done] == [2, 2, 1]
    check = make_sessionmaker(make_engine(pg_url))
    with check() as session:
        assert session.get(Progress, (users[0], COURSE, "one")).cells_ok == CELLS[:3]
        assert session.get(Progress, (users[1], COURSE, "two")).cells_ok == [CELLS[1]]
        assert session.query(Event).filter(Event.user.in_(users)).count() == 6


def test_a_connection_the_server_dropped_while_it_rested_is_replaced(pg_url, monkeypatch):
    """The database server restarted (or a pooler dropped the connection) while the service's
    pooled connection rested: the next write still lands, on a new connection."""
    engine = make_engine(pg_url)
    sessions = make_sessionmaker(engine)
    user = f"drop-{uuid.uuid4().hex[:8]}"
    try:
        with sessions() as session:
            pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            record_batches(session, [Batch(user, [ran(CELLS[0])], INDEX, NOW)])
            session.commit()
        with make_engine(pg_url).connect() as admin:
            assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # it rested long enough to be checked
        with sessions() as session:
            now_pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            record_batches(session, [Batch(user, [ran(CELLS[1])], INDEX, NOW)])
            session.commit()
        assert now_pid != pid
        with sessions() as session:
            assert session.get(Progress, (user, COURSE, "one")).cells_ok == CELLS[:2]
    finally:
        engine.dispose()


def test_an_event_another_process_inserts_meanwhile_is_a_duplicate_not_an_error(pg_url):
    """A second service process (a deployment running two by mistake) stores one of a batch's
    events while the writer records the batch: the writer's insert fails on the unique id, it
    runs the transaction again, and the batch is answered with that event as a duplicate."""
    engine = make_engine(pg_url)
    sessions = make_sessionmaker(engine)
    other = make_engine(pg_url)
    user = f"race-{uuid.uuid4().hex[:8]}"
    events = [ran(CELLS[0]), ran(CELLS[1])]
    taken = threading.Event()

    def other_process():
        with other.begin() as conn:
            conn.execute(Event.__table__.insert(), {
                "id": str(events[1].id), "user": user, "course": COURSE, "lesson": "one",
                "kind": "cell_executed", "at": NOW, "received_at": NOW, "data": "{}"})
            taken.set()
            deadline = time.monotonic() + 30  # commit once the writer waits for this insert
            while time.monotonic() < deadline:
                conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")  # a fresh view each time
                if conn.exec_driver_sql(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query LIKE 'INSERT INTO events%%'").scalar():
                    break
                time.sleep(0.05)

    def job(session):
        return record_batches(session, [Batch(user, events, INDEX, NOW)])[0]

    writer = Writer(sessions)
    racer = threading.Thread(target=other_process)
    try:
        racer.start()
        assert taken.wait(30)
        done = asyncio.run(writer.run(job))
    finally:
        racer.join()
        writer.stop()
        engine.dispose()
        other.dispose()
    assert ([str(e.id) for e in done.accepted], [str(e.id) for e in done.duplicates]) == (
        [str(events[0].id)], [str(events[1].id)])
    check = make_sessionmaker(make_engine(pg_url))
    with check() as session:
        assert session.get(Progress, (user, COURSE, "one")).cells_ok == [CELLS[0]]
