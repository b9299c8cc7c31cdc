"""Malformed, oversized and unknown-field payloads: 400 naming the field, and nothing stored."""

from __future__ import annotations

import json

import pytest

from .conftest import event


def good(**fields):
    return {**event("lesson_opened", "pandas-exploration"), **fields}


CASES = {
    "not JSON": (b"{'events': [", "body: not valid JSON"),
    "not an object": (json.dumps([good()]), "body: must be a JSON object"),
    "no events": (json.dumps({"events": []}), "events: List should have at least 1 item"),
    "unknown field": (json.dumps({"events": [good(colour="red")]}),
                      "events.0.colour: Extra inputs are not permitted"),
    "unknown top-level field": (json.dumps({"events": [good()], "user": "someone-else"}),
                                "user: Extra inputs are not permitted"),
    "wrong type": (json.dumps({"events": [good(), event("cell_executed", "pandas-exploration",
                                                        cell_id="a", ok="maybe")]}),
                   "events.1.ok: Input should be a valid boolean"),
    "missing id": (json.dumps({"events": [{k: v for k, v in good().items() if k != "id"}]}),
                   "events.0.id: Field required"),
    "bad id": (json.dumps({"events": [good(id="1; drop table")]}), "events.0.id: Input should be"),
    "unknown kind": (json.dumps({"events": [good(kind="lesson_liked")]}), "events.0.kind: Input"),
    "time without zone": (json.dumps({"events": [good(at="2026-11-23T10:00:00")]}),
                          "events.0: at: must carry a time zone"),
    "unknown lesson": (json.dumps({"events": [good(), event("lesson_opened", "nope")]}),
                       "events.1.lesson: unknown lesson dl-basics/nope"),
    "bad survey answer": (json.dumps({"events": [good(), event(
        "survey_submitted", "pandas-exploration", answers={"difficulty": 9})]}),
        "events.1.answers.difficulty: must be from 1 to 5"),
    "too many events": (json.dumps({"events": [good() for _ in range(501)]}),
                        "events: List should have at most 500 items"),
    "oversized body": (json.dumps({"events": [good(notebook="x" * 300_000)]}),
                       "body: 300"),
    "oversized field": (json.dumps({"events": [good(notebook="x" * 301)]}),
                        "events.0.notebook: String should have at most 300 characters"),
}


@pytest.mark.parametrize("body, message", CASES.values(), ids=CASES.keys())
def test_bad_event_batches_are_refused_whole(lms, body, message):
    r = lms.call("POST", "/events", "zed", data=body,
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith(message), r.json()
    rows = lms.call("GET", "/progress/zed", "zed").json()["courses"]["dl-basics"]
    assert {row["status"] for row in rows} == {"not_started"}


@pytest.mark.parametrize("path, body, message", [
    ("/cohorts/cohort-a", {"course": "nope", "start": "2026-01-01T00:00:00Z"},
     "course: no course 'nope'"),
    ("/cohorts/cohort-a", {"course": "dl-basics", "start": "soon"}, "start: Input should be"),
    ("/cohorts/cohort-a", {"course": "dl-basics", "start": "2026-01-01T00:00:00Z", "x": 1},
     "x: Extra inputs are not permitted"),
    ("/cohorts/no-such-group", {"course": "dl-basics", "start": "2026-01-01T00:00:00Z"},
     "group: the hub has no group 'no-such-group'"),
    ("/surveys/dl-basics/numpy-basics", {"answers": {"difficulty": 2, "mood": "ok"}},
     "answers.mood: no such question"),
    ("/surveys/dl-basics/numpy-basics", {"answers": "five"}, "answers: Input should be a valid"),
])
def test_other_bad_payloads_name_the_field(lms, path, body, message):
    lms.token("zed")
    r = lms.call("PUT", path, "admin", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith(message), r.json()
