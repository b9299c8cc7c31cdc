"""Events posted in a real lesson container reach the LMS service as the learner's own."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import requests

from .test_api_spawn import container, start


def test_events_flow_from_the_lesson_server_to_the_lms_service(hub, run_id):
    hub.create_user("evy")
    start(hub, "evy", "dl-basics/numpy-basics")
    env = dict(v.split("=", 1) for v in container(run_id, "evy")["Config"]["Env"])
    assert env["LMS_SERVICE_URL"].endswith("/services/lms")
    now = datetime.now(UTC).isoformat()
    events = [{"id": str(uuid.uuid4()), "kind": "lesson_opened", "course": "dl-basics",
               "lesson": "numpy-basics", "at": now, "active_seconds": 12},
              {"id": str(uuid.uuid4()), "kind": "cell_executed", "course": "dl-basics",
               "lesson": "numpy-basics", "at": now, "cell_id": "abc", "ok": True}]
    r = hub.server_request("POST", "evy", "lms/api/events", json={"events": events})
    assert r.status_code == 200, r.text
    assert r.json()["received"] == 2
    bad = hub.server_request("POST", "evy", "lms/api/events",
                             json={"events": [{**events[0], "colour": "red"}]})
    assert bad.status_code == 400 and "events.0.colour" in bad.text

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
    status = hub.server_request("GET", "evy", "lms/api/events").json()
    assert (status["queued"], status["last_error"]) == (0, "")
    hub.stop_server("evy")
