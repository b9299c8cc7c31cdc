"""The lesson server's event queue against the real LMS service: nothing lost while the service
is down, nothing doubled when a batch is sent again, a refused event does not block the rest."""

from __future__ import annotations

import asyncio

from lms_extension.server.forwarder import EventForwarder
from lms_extension.server.http import TokenClient
from lms_extension.server.queue import EventQueue

from .conftest import code_cell_ids, event


def statuses(lms, user):
    rows = lms.call("GET", f"/progress/{user}", user).json()["courses"]["dl-basics"]
    return {row["lesson"]: row for row in rows}


def forwarder(lms, user, tmp_path) -> EventForwarder:
    return EventForwarder(EventQueue(tmp_path / "events.sqlite"),
                          TokenClient(lms.api_url[: -len("/api")], lms.token(user)))


def test_events_wait_while_the_service_is_down_and_arrive_once(lms, tmp_path):
    fwd = forwarder(lms, "olga", tmp_path)
    cells = code_cell_ids(lms, "linear-regression")[:3]
    opened = event("lesson_opened", "linear-regression", active_seconds=40)
    assert fwd.queue.put([opened]) == 1
    assert asyncio.run(fwd.flush()) == 1
    lms.hub.stop()  # the hub stops its services: the LMS service is gone
    try:
        runs = [event("cell_executed", "linear-regression", cell_id=cell, ok=True,
                      active_seconds=5) for cell in cells]
        assert fwd.queue.put(runs) == 3
        assert fwd.queue.put(runs[:1]) == 0  # the same event twice is queued once
        assert asyncio.run(fwd.flush(force=True)) == 0
        assert fwd.status()["queued"] == 3 and fwd.status()["last_error"]
        assert asyncio.run(fwd.flush()) == 0  # backing off: no new try yet
    finally:
        lms.hub.start()
    for _ in range(100):  # the service comes back with the hub
        if lms.call("GET", "/content", "admin").status_code == 200:
            break
        asyncio.run(asyncio.sleep(0.2))
    assert asyncio.run(fwd.flush(force=True)) == 3
    assert fwd.status()["queued"] == 0 and fwd.status()["last_error"] == ""
    # a batch sent again (say, its answer was lost) is not counted twice
    fwd.queue.put([opened, *runs])
    assert asyncio.run(fwd.flush(force=True)) == 0
    row = statuses(lms, "olga")["linear-regression"]
    assert (row["cells_ok"], row["active_seconds"]) == (3, 55)


def test_a_refused_event_is_set_aside(lms, tmp_path):
    fwd = forwarder(lms, "pete", tmp_path)
    good = event("lesson_opened", "pandas-exploration")
    bad = event("lesson_opened", "no-such-lesson")
    fwd.queue.put([bad, good])
    assert asyncio.run(fwd.flush(force=True)) == 1
    assert fwd.status()["queued"] == 0 and fwd.status()["refused"] == 1
    assert statuses(lms, "pete")["pandas-exploration"]["status"] == "in_progress"
