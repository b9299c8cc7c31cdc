"""A learner's quotas, on a hub whose LMS service has small ones: events per minute (refused
with retry=true and a Retry-After, taken when sent again then) and stored events (refused for
good, naming the quota; resent events still answered as taken)."""

from __future__ import annotations

import time

import pytest

from ..hubctl import Hub
from .conftest import COHORTS, Lms, _postgres_database, event

PER_MINUTE = 120
STORED = 100


@pytest.fixture(scope="module")
def small(db_url, content_remote, run_id, tmp_path_factory):
    if db_url.startswith("sqlite"):
        url = "sqlite:///" + str(tmp_path_factory.mktemp("quota-db") / "lms.sqlite")
    else:
        url = _postgres_database(f"lms_quota_{run_id}")
    hub = Hub(tmp_path_factory.mktemp("quota-hub"), str(content_remote), f"{run_id}-quota",
              {"LMS_SERVICE_DB_URL": url, "LMS_COHORTS": COHORTS,
               "LMS_EVENTS_PER_MINUTE": str(PER_MINUTE), "LMS_MAX_STORED_EVENTS": str(STORED)})
    hub.start()
    service = Lms(hub)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            r = service.call("GET", "/content", "admin")
            if r.ok and r.json()["version"]:
                break
            time.sleep(0.3)
        else:
            raise AssertionError(f"no content published:\n{hub.log_tail(80)}")
        yield service
    finally:
        hub.stop()


def test_the_limits_are_published(small):
    limits = small.call("GET", "/", "quinn").json()["limits"]
    assert limits == {"max_body_bytes": 262_144, "max_events_per_batch": 500,
                      "events_per_minute": PER_MINUTE, "max_stored_events": STORED}


def test_events_over_the_rate_wait_and_are_taken_when_sent_again(small):
    batch = [event("cell_executed", "numpy-basics", cell_id=f"r{n}", ok=False,
                   active_seconds=1) for n in range(50)]
    assert small.events("rae", *batch).json()["accepted"] == 50
    # a forwarder that resends: each resent event counts toward the rate too
    assert small.events("rae", *batch).json()["duplicates"] == 50
    r = small.events("rae", *batch)  # 20 or so tokens left of 120
    assert r.status_code == 200, r.text
    result = r.json()
    later = [x for x in result["refused"] if x["retry"]]
    assert len(later) >= 25 and [x["index"] for x in later] == list(range(50 - len(later), 50))
    assert all("events_per_minute" in x["reason"] for x in later)
    assert [x["id"] for x in later] == [e["id"] for e in batch[50 - len(later):]]
    assert result["taken"] == [e["id"] for e in batch[:50 - len(later)]]
    assert 1 <= result["retry_after"] <= 60
    assert int(r.headers["Retry-After"]) >= result["retry_after"]
    # the refusals are not kept for instructors: they are not final
    assert small.call("GET", "/refusals/rae", "admin").json()["refusals"] == []
    time.sleep(result["retry_after"])
    again = small.events("rae", *batch[50 - len(later):])
    assert again.json()["refused"] == [] and again.json()["duplicates"] == len(later)
    row = next(x for x in small.call("GET", "/progress/rae", "rae").json()["courses"][
        "dl-basics"] if x["lesson"] == "numpy-basics")
    assert (row["errors"], row["active_seconds"]) == (50, 50)


def test_stored_events_are_bounded(small):
    first = [event("lesson_opened", "python-basics", active_seconds=1) for _ in range(90)]
    assert small.events("sol", *first).json()["accepted"] == 90
    new = [event("lesson_opened", "python-basics", active_seconds=1) for _ in range(20)]
    r = small.events("sol", *first[:5], *new)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["accepted"], result["duplicates"]) == (10, 5)
    assert result["taken"] == [e["id"] for e in first[:5] + new[:10]]
    assert [x["index"] for x in result["refused"]] == list(range(15, 25))
    assert {x["retry"] for x in result["refused"]} == {False}
    assert "max_stored_events" in result["refused"][0]["reason"]
    # resending what is stored is still answered as taken
    assert small.events("sol", *first[:3]).json()["duplicates"] == 3
    kept = small.call("GET", "/refusals/sol", "sol").json()["refusals"]
    assert len(kept) == 10 and all("max_stored_events" in k["reason"] for k in kept)
    row = next(x for x in small.call("GET", "/progress/sol", "sol").json()["courses"][
        "dl-basics"] if x["lesson"] == "python-basics")
    assert row["active_seconds"] == STORED
