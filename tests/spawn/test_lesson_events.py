"""Events posted in a real lesson container reach the LMS service as the learner's own, and
the events the lesson server refuses itself are reported to it for the learner's instructors."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import nbformat
import requests

from ..hubctl import ROOT
from .test_api_spawn import container, start

NUMPY = ROOT / "content_repo" / "dl-basics" / "02-numpy" / "numpy-basics.ipynb"


def test_events_flow_from_the_lesson_server_to_the_lms_service(hub, run_id):
    hub.create_user("evy")
    start(hub, "evy", "dl-basics/numpy-basics")
    env = dict(v.split("=", 1) for v in container(run_id, "evy")["Config"]["Env"])
    assert env["LMS_SERVICE_URL"].endswith("/services/lms")
    now = datetime.now(UTC).isoformat()
    # a code cell of the lesson's notebook (others do not count toward completion)
    cell = next(c.id for c in nbformat.read(NUMPY, as_version=4).cells if c.cell_type == "code")
    events = [{"id": str(uuid.uuid4()), "kind": "lesson_opened", "course": "dl-basics",
               "lesson": "numpy-basics", "at": now, "active_seconds": 12},
              {"id": str(uuid.uuid4()), "kind": "cell_executed", "course": "dl-basics",
               "lesson": "numpy-basics", "at": now, "cell_id": cell, "ok": True}]
    r = hub.server_request("POST", "evy", "lms/api/events", json={"events": events})
    assert r.status_code == 200, r.text
    assert r.json()["taken"] == [e["id"] for e in events]
    bad = {**events[0], "id": str(uuid.uuid4()), "colour": "red"}
    r = hub.server_request("POST", "evy", "lms/api/events", json={"events": [bad]})
    assert r.status_code == 200, r.text
    assert (r.json()["taken"], r.json()["refused"][0]["field"]) == ([], "events.0.colour")

    progress = f"{hub.url}/services/lms/api/progress/evy"
    headers = {"Authorization": f"token {hub.token}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = requests.get(progress, headers=headers, timeout=10).json()["courses"]["dl-basics"]
        row = next(r for r in rows if r["lesson"] == "numpy-basics")
        if row["status"] == "in_progress":
            break
        time.sleep(0.5)
    assert (row["status"], row["cells_ok"], row["active_seconds"]) == ("in_progress", 1, 12)

    # the event the lesson server refused itself is reported, for the learner's instructors
    refusals = f"{hub.url}/services/lms/api/courses/dl-basics/refusals"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kept = [k for k in requests.get(refusals, headers=headers, timeout=10).json()["refusals"]
                if k["event_id"] == bad["id"]]
        if kept:
            break
        time.sleep(0.5)
    assert [(k["user"], k["source"], k["field"], k["lesson"]) for k in kept] == [
        ("evy", "lesson server", "events.0.colour", "numpy-basics")], kept
    assert '"colour": "red"' in kept[0]["body"] or '"colour":"red"' in kept[0]["body"]
    status = hub.server_request("GET", "evy", "lms/api/events").json()
    assert (status["queued"], status["last_error"]) == (0, "")
    assert (status["refused"], status["unreported"], status["report_error"]) == (1, 0, "")
    hub.stop_server("evy")


def test_two_servers_on_one_home_volume_forward_through_one(hub, run_id):
    """A learner's named servers share the home volume and its event queue: one container
    forwards it (an flock on the volume), the other only adds to it, and takes over when the
    first stops."""
    hub.create_user("otto")
    start(hub, "otto", "dl-basics/numpy-basics")
    start(hub, "otto", "dl-basics/python-basics", server="python")
    first = hub.server_request("GET", "otto", "lms/api/events").json()
    other = hub.server_request("GET", "otto", "lms/api/events", server="python").json()
    assert first["forwarding"] is True and other["forwarding"] is False
    assert other["forwarded_by"] == first["forwarded_by"]
    assert first["forwarded_by"].startswith("otto/(default) on ")

    def send(lesson: str) -> str:
        event = {"id": str(uuid.uuid4()), "kind": "lesson_opened", "course": "dl-basics",
                 "lesson": lesson, "at": datetime.now(UTC).isoformat()}
        r = hub.server_request("POST", "otto", "lms/api/events", server="python",
                               json={"events": [event]})
        assert r.json()["taken"] == [event["id"]], r.text
        return lesson

    def arrives(lesson: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = requests.get(f"{hub.url}/services/lms/api/progress/otto", timeout=10,
                                headers={"Authorization": f"token {hub.token}"}).json()
            if next(r for r in rows["courses"]["dl-basics"] if r["lesson"] == lesson)[
                    "status"] == "in_progress":
                return
            time.sleep(0.5)
        queue = hub.server_request("GET", "otto", "lms/api/events", server="python").json()
        raise AssertionError(f"{lesson} did not arrive: {queue}")

    arrives(send("python-basics"))  # queued by one container, sent by the other
    hub.stop_server("otto")  # the forwarding container goes: the other takes over
    arrives(send("pandas-exploration"))
    status = hub.server_request("GET", "otto", "lms/api/events", server="python").json()
    assert status["forwarding"] is True and status["queued"] == 0
    hub.stop_server("otto", "python")
