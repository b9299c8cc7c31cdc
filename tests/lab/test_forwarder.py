"""The lesson server's event forwarder against a real HTTP server that speaks the LMS service's
events protocol: batches cut by size, refusals set aside by the structured answer, whole-batch
refusals split until the bad event stands alone, waits honoured, and one forwarder per home."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from datetime import UTC, datetime

import pytest

from lms_extension.server.forwarder import EventForwarder, Limits, cut_batch
from lms_extension.server.http import TokenClient
from lms_extension.server.lease import HomeLease
from lms_extension.server.queue import EventQueue, encode



def event(lesson: str = "numpy-basics", **fields) -> dict:
    return {"id": str(uuid.uuid4()), "kind": "cell_executed", "course": "dl-basics",
            "lesson": lesson, "at": datetime.now(UTC).isoformat(), "cell_id": "c1", "ok": True,
            "active_seconds": 1.5, **fields}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make(tmp_path, service, clock):
    made = []

    def make(folder="home", token="token-a", **options) -> EventForwarder:
        queue = EventQueue(tmp_path / folder / "events.sqlite")
        fwd = EventForwarder(queue, TokenClient(service.url, token),
                             HomeLease(tmp_path / folder / "events.lock", token), clock=clock,
                             **options)
        made.append(fwd)
        return fwd

    yield make
    for fwd in made:
        fwd.lease.release()
        fwd.queue.close()


def flush(fwd: EventForwarder, force: bool = False) -> int:
    return asyncio.run(fwd.flush(force=force))


def test_batches_stay_under_the_published_body_size_and_count(service, make):
    service.max_body_bytes = service.published_max_body_bytes = 3000
    service.max_events_per_batch = 7
    fwd = make()
    events = [event(cell_id=f"cell-{i}") for i in range(60)]
    fwd.queue.put(events)
    assert flush(fwd) == 60
    assert fwd.status()["queued"] == 0 and fwd.status()["refused"] == 0
    assert all(r["status"] == 200 for r in service.requests)
    assert all(r["bytes"] <= 3000 and len(r["ids"]) <= 7 for r in service.requests)
    assert len(service.requests) >= 60 / 7
    assert service.sent_counts() == {e["id"]: 1 for e in events}
    # in the order they came
    assert [i for r in service.requests for i in r["ids"]] == [e["id"] for e in events]


def test_a_batch_is_cut_by_its_encoded_size():
    events = [event() for _ in range(5)]
    one = len(encode(events[0]).encode())
    batch, body = cut_batch(events, Limits(len(b'{"events":[]}') + 3 * one + 2, 100))
    assert batch == events[:3] and len(body) == len(b'{"events":[]}') + 3 * one + 2
    assert json.loads(body) == {"events": events[:3]}
    assert cut_batch(events, Limits(one, 100))[0] == []  # the first alone does not fit


def test_refused_events_are_set_aside_and_the_rest_goes_on(service, make):
    fwd = make()
    good = [event() for _ in range(3)]
    unknown = event(lesson="no-such-lesson")
    fwd.queue.put([good[0], unknown, *good[1:]])
    assert flush(fwd) == 3
    status = fwd.status()
    assert (status["queued"], status["refused"], status["last_error"]) == (0, 1, "")
    (refusal,) = status["refusals"]
    assert refusal["id"] == unknown["id"] and refusal["field"] == "events.1.lesson"
    assert "unknown lesson dl-basics/no-such-lesson" in refusal["reason"]
    assert set(service.stored) == {e["id"] for e in good}
    requests = len(service.requests)
    assert flush(fwd, force=True) == 0
    assert len(service.requests) == requests, "a refused event is never sent again"


def test_a_batch_refused_as_too_large_is_split(service, make):
    service.max_body_bytes = 2500  # what it takes, although it publishes more
    fwd = make()
    events = [event(cell_id=f"cell-{i}") for i in range(20)]
    huge = event(answers={"text": "x" * 3000}, kind="survey_submitted")
    fwd.queue.put([*events[:10], huge, *events[10:]])
    assert flush(fwd) == 20
    assert 413 in [r["status"] for r in service.requests]
    assert set(service.stored) == {e["id"] for e in events}
    assert service.sent_counts() == {e["id"]: 1 for e in events}
    status = fwd.status()
    assert (status["queued"], status["refused"]) == (0, 1)
    assert status["refusals"][0]["id"] == huge["id"]
    assert "2500 bytes" in status["refusals"][0]["reason"]


def test_limits_learnt_from_a_413_when_the_service_publishes_none(service, make):
    service.publish_limits = False
    service.max_events_per_batch = 3
    fwd = make()
    events = [event(cell_id=f"cell-{i}") for i in range(10)]
    fwd.queue.put(events)
    assert flush(fwd) == 10
    first, *rest = service.requests
    assert (first["status"], len(first["ids"])) == (413, 10)
    assert all(r["status"] == 200 and len(r["ids"]) <= 3 for r in rest)
    assert fwd.limits().max_events_per_batch == 3  # and it stays learnt
    assert service.sent_counts() == {e["id"]: 1 for e in events}


def test_a_batch_refused_as_a_whole_is_split_until_the_bad_event_stands_alone(service, make):
    fwd = make()
    events = [event(cell_id=f"cell-{i}") for i in range(9)]
    service.poison = {events[6]["id"]}
    fwd.queue.put(events)
    assert flush(fwd) == 8
    assert set(service.stored) == {e["id"] for i, e in enumerate(events) if i != 6}
    assert fwd.status()["refusals"][0]["id"] == events[6]["id"]
    assert fwd.status()["queued"] == 0


def test_temporary_refusals_wait_their_time_and_are_sent_again_once(service, make, clock):
    service.quota_left = 4
    fwd = make()
    events = [event(cell_id=f"cell-{i}") for i in range(10)]
    fwd.queue.put(events)
    assert flush(fwd) == 4
    assert fwd.status()["queued"] == 6 and fwd.status()["refused"] == 0
    assert "quota" in fwd.status()["last_error"]
    requests = len(service.requests)
    clock.now += 29
    assert flush(fwd) == 0 and len(service.requests) == requests, "retry_after is honoured"
    service.quota_left = None
    clock.now += 2
    assert flush(fwd) == 6
    assert set(service.stored) == {e["id"] for e in events}
    assert service.sent_counts()[events[0]["id"]] == 1
    assert fwd.status()["queued"] == 0


def test_429_waits_its_retry_after(service, make, clock):
    service.forced = [(429, {"message": "slow down"}, {"Retry-After": "12"})]
    fwd = make()
    fwd.queue.put([event()])
    assert flush(fwd) == 0
    assert fwd.status()["queued"] == 1 and "429" in fwd.status()["last_error"]
    clock.now += 11
    assert flush(fwd) == 0 and len(service.requests) == 1
    clock.now += 2
    assert flush(fwd) == 1 and fwd.status()["queued"] == 0


def test_events_wait_while_the_service_fails(service, make, clock):
    service.forced = [(503, {"message": "down"}, {})]
    fwd = make()
    fwd.queue.put([event(), event()])
    assert flush(fwd) == 0
    assert fwd.status()["queued"] == 2 and fwd.status()["last_error"] == "HTTP 503: down"
    clock.now += 1
    assert flush(fwd) == 0 and len(service.requests) == 1, "backing off"
    clock.now += 2
    assert flush(fwd) == 2
    unreachable = make(folder="other", token="token-a")
    unreachable.service = TokenClient("http://127.0.0.1:9/services/lms", "token-a")
    unreachable.queue.put([event()])
    assert flush(unreachable) == 0
    assert unreachable.status()["queued"] == 1 and unreachable.status()["last_error"]


def test_concurrent_flushes_never_send_an_event_twice(service, make):
    service.delay = 0.05
    service.max_events_per_batch = 5
    fwd = make()
    events = [event(cell_id=f"cell-{i}") for i in range(40)]

    async def many():
        fwd.queue.put(events[:20])
        first = [fwd.flush(force=True) for _ in range(4)]
        fwd.queue.put(events[20:])
        fwd.kick()  # as a POST from JupyterLab does
        await asyncio.gather(*first, fwd.flush(force=True))
        await asyncio.gather(*fwd._tasks)

    asyncio.run(many())
    assert set(service.stored) == {e["id"] for e in events}
    assert fwd.status()["queued"] == 0
    assert service.max_in_flight == 1
    assert service.sent_counts() == {e["id"]: 1 for e in events}


def test_one_forwarder_per_home(service, make):
    """Two servers of one learner on the same home volume: only the lease holder sends; when
    it stops, the other takes over."""
    first, second = make(token="token-a"), make(token="token-b")
    assert flush(first) == 0  # nothing queued, but it holds the lease now
    second.queue.put([event(), event()])  # the other server only adds to the queue
    assert flush(second, force=True) == 0
    assert service.requests == [] and second.status()["forwarding"] is False
    assert second.status()["forwarded_by"] == "token-a"
    assert flush(first) == 2
    assert {r["token"] for r in service.requests} == {"token-a"}
    first.lease.release()  # the first server stops
    second.queue.put([event()])
    assert flush(second) == 1
    assert service.requests[-1]["token"] == "token-b"
    assert second.status()["forwarding"] is True


def test_a_queue_of_the_previous_version_is_sent(service, make, tmp_path):
    """The home outlives the image: events queued by the earlier queue format still go."""
    folder = tmp_path / "home"
    folder.mkdir()
    old = sqlite3.connect(folder / "events.sqlite")
    old.execute("CREATE TABLE queue (id TEXT PRIMARY KEY, body TEXT NOT NULL, "
                "queued_at REAL NOT NULL)")
    old.execute("CREATE TABLE refused (id TEXT PRIMARY KEY, body TEXT NOT NULL, reason TEXT NOT "
                "NULL, refused_at REAL NOT NULL)")
    waiting = event()
    old.execute("INSERT INTO queue VALUES (?, ?, 1.0)", (waiting["id"], json.dumps(waiting)))
    old.execute("INSERT INTO refused VALUES ('x', '{}', 'events.0: old reason', 1.0)")
    old.commit()
    old.close()
    fwd = make()
    assert flush(fwd) == 1
    assert set(service.stored) == {waiting["id"]}
    assert fwd.status()["refusals"][0]["reason"] == "events.0: old reason"


def refused_here(fwd: EventForwarder, *events: dict, field: str = "events.0.ok") -> None:
    """Events refused by this server itself, as its events handler keeps them."""
    fwd.queue.refuse([(e, field, "cell_executed events need cell_id and ok") for e in events],
                     dequeue=False, report=True)


def test_events_refused_here_are_reported_once_when_the_service_answers(service, make, clock):
    fwd = make()
    bad = [event(ok=None) for _ in range(3)]
    unreadable = {"id": "not-a-uuid!", "kind": "cell_executed", "course": "Not A Slug"}
    refused_here(fwd, *bad)
    fwd.queue.refuse([({**unreadable, "id": "unreadable-1"}, "events.3.id", "not a UUID")],
                     dequeue=False, report=True)
    service.reports_forced = [(503, {"message": "down"}, {})]
    fwd.queue.put([event()])
    assert flush(fwd) == 1, "events go on while reports wait"
    status = fwd.status()
    assert (status["refused"], status["unreported"]) == (4, 4)
    assert status["report_error"] == "HTTP 503: down" and status["last_error"] == ""
    assert not any(r["reported"] for r in status["refusals"])
    clock.now += 1
    fwd.queue.put([event()])
    assert flush(fwd) == 1 and len(service.report_requests) == 1, "reports back off"
    clock.now += 2
    assert flush(fwd) == 0
    status = fwd.status()
    assert (status["unreported"], status["report_error"]) == (0, "")
    assert all(r["reported"] for r in status["refusals"])
    assert set(service.reports) == {e["id"] for e in bad} | {"unreadable-1"}
    one = service.reports[bad[0]["id"]]
    assert (one["id"], one["course"], one["lesson"], one["field"]) == (
        bad[0]["id"], "dl-basics", "numpy-basics", "events.0.ok")
    assert json.loads(one["body"]) == bad[0]
    other = service.reports["unreadable-1"]
    assert (other["id"], other["course"], other["field"]) == (None, None, "events.3.id")
    clock.now += 100
    assert flush(fwd, force=True) == 0
    assert service.reported_counts() == {i: 1 for i in service.reports}, "never reported twice"


def test_what_the_service_refused_is_not_reported_but_what_it_never_stored_is(service, make):
    service.max_body_bytes = service.published_max_body_bytes = 2500
    fwd = make()
    unknown, huge = event(lesson="no-such-lesson"), event(notebook="n" * 3000)
    fwd.queue.put([unknown, huge, event()])
    assert flush(fwd) == 1
    assert fwd.status()["refused"] == 2 and fwd.status()["unreported"] == 0
    assert set(service.reports) == {huge["id"]}  # the service knows of the unknown lesson
    assert service.reports[huge["id"]]["field"] == "body"
    assert "larger than the limit of 2500 bytes" in service.reports[huge["id"]]["reason"]
    # the report carries less of the event, to fit under the service's limit itself
    assert service.reports[huge["id"]]["body"].startswith('{"id":')
    assert len(service.reports[huge["id"]]["body"]) < 2500


def test_a_batch_refused_alone_by_the_service_is_reported(service, make):
    fwd = make()
    poisoned = event()
    service.poison = {poisoned["id"]}
    fwd.queue.put([poisoned])
    assert flush(fwd) == 0
    assert service.reports[poisoned["id"]]["reason"] == "events: this batch cannot be read"


def test_reports_go_in_small_batches_in_order_and_one_bad_report_holds_up_none(service, make):
    fwd = make()
    bad = [event(ok=None, cell_id=f"cell-{i}") for i in range(45)]
    refused_here(fwd, *bad)
    service.reports_forced = [(400, {"message": "refusals.0.field: too odd"}, {})] * 5
    assert flush(fwd) == 0
    split, rest = service.report_requests[:5], service.report_requests[5:]
    # halved until the report at fault stands alone
    assert [r["bytes"] > 0 for r in split] == [True] * 5 and len(rest) == 3
    assert all(r["status"] == 200 and 1 <= len(r["ids"]) <= 20 for r in rest)
    assert set(service.reports) == {e["id"] for e in bad[1:]}, "the report at fault is dropped"
    assert [i for r in rest for i in r["ids"]] == [e["id"] for e in bad[1:]]  # oldest first
    assert fwd.status()["unreported"] == 0


def test_a_service_without_the_reports_endpoint_keeps_them_and_events_flow(service, make,
                                                                           clock):
    service.reports_missing = True
    fwd = make()
    refused_here(fwd, event(ok=None))
    for _ in range(4):  # at 1000, 1001, 1002, 1003 s
        fwd.queue.put([event()])
        assert flush(fwd) == 1
        clock.now += 1
    assert fwd.status()["unreported"] == 1 and "HTTP 404" in fwd.status()["report_error"]
    assert len(service.report_requests) == 2, "backing off: 2 s, then 4 s (at 1000, 1002 s)"
    service.reports_missing = False
    clock.now += 60
    assert flush(fwd) == 0 and fwd.status()["unreported"] == 0 and len(service.reports) == 1


def test_only_the_lease_holder_reports(service, make):
    first, second = make(token="token-a"), make(token="token-b")
    assert flush(first) == 0  # holds the lease now
    refused_here(second, event(ok=None))  # the other server refused it
    assert flush(second, force=True) == 0 and service.report_requests == []
    assert flush(first) == 0
    assert [r["token"] for r in service.report_requests] == ["token-a"]
    assert len(service.reports) == 1
