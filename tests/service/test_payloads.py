"""Malformed, oversized and unknown-field payloads: a bad envelope is 400/413 naming the field
and nothing is stored; a bad event is refused alone, naming its index and field."""

from __future__ import annotations

import json

import pytest

from .conftest import event


def good(**fields):
    return {**event("lesson_opened", "pandas-exploration"), **fields}


ENVELOPES = {
    "not JSON": (b"{'events': [", 400, "body", "body: not valid JSON"),
    "not an object": (json.dumps([good()]), 400, "body", "body: must be a JSON object"),
    "no events": (json.dumps({"events": []}), 400, "events",
                  "events: List should have at least 1 item"),
    "events not a list": (json.dumps({"events": {"0": good()}}), 400, "events",
                          "events: Input should be a valid list"),
    "unknown top-level field": (json.dumps({"events": [good()], "user": "someone-else"}), 400,
                                "user", "user: Extra inputs are not permitted"),
    "too many events": (json.dumps({"events": [good() for _ in range(501)]}), 413, "events",
                        "events: 501 events are more than the limit of 500"),
    "oversized body": (json.dumps({"events": [good(notebook="x" * 300_000)]}), 413, "body",
                       "body: 300"),
}


@pytest.mark.parametrize("body, status, field, message", ENVELOPES.values(),
                         ids=ENVELOPES.keys())
def test_bad_envelopes_are_refused_whole(lms, body, status, field, message):
    r = lms.call("POST", "/events", "zed", data=body,
                 headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    answer = r.json()
    assert answer["message"].startswith(message), answer
    assert answer["field"] == field
    if status == 413:
        limits = lms.call("GET", "/", "zed").json()["limits"]
        assert answer["limit"] == limits[{"body": "max_body_bytes",
                                          "events": "max_events_per_batch"}[field]]
    rows = lms.call("GET", "/progress/zed", "zed").json()["courses"]["dl-basics"]
    assert {row["status"] for row in rows} == {"not_started"}


EVENTS = {
    "unknown field": (good(colour="red"), "events.1.colour", "Extra inputs are not permitted"),
    "wrong type": (event("cell_executed", "pandas-exploration", cell_id="a", ok="maybe"),
                   "events.1.ok", "Input should be a valid boolean"),
    "missing id": ({k: v for k, v in good().items() if k != "id"}, "events.1.id",
                   "Field required"),
    "bad id": (good(id="1; drop table"), "events.1.id", "Input should be"),
    "unknown kind": (good(kind="lesson_liked"), "events.1.kind", "Input should be"),
    "not an object": ("lesson_opened", "events.1", "must be a JSON object"),
    "time without zone": (good(at="2026-11-23T10:00:00"), "events.1.at",
                          "must carry a time zone"),
    "cell run without a cell": (event("cell_executed", "pandas-exploration", ok=True),
                                "events.1.cell_id", "cell_executed events need"),
    "unknown lesson": (event("lesson_opened", "nope"), "events.1.lesson",
                       "unknown lesson dl-basics/nope"),
    "bad survey answer": (event("survey_submitted", "pandas-exploration",
                                answers={"difficulty": 9}),
                          "events.1.answers.difficulty", "must be from 1 to 5"),
    "oversized field": (good(cell_id="x" * 101), "events.1.cell_id",
                        "String should have at most 100 characters"),
}


@pytest.mark.parametrize("number, bad, field, reason",
                         [(n, *case) for n, case in enumerate(EVENTS.values())],
                         ids=EVENTS.keys())
def test_a_bad_event_is_refused_alone(lms, number, bad, field, reason):
    user = f"zoe-{number}"
    first, last = good(), event("lesson_opened", "linear-regression")
    r = lms.call("POST", "/events", user, json={"events": [first, bad, last]})
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["accepted"], result["duplicates"]) == (2, 0)
    assert result["taken"] == [first["id"], last["id"]]
    [refusal] = result["refused"]
    assert (refusal["index"], refusal["field"], refusal["retry"]) == (1, field, False)
    assert refusal["reason"].startswith(reason), refusal
    assert refusal["id"] == (bad.get("id") if field not in ("events.1.id", "events.1") else None)
    rows = lms.call("GET", f"/progress/{user}", user).json()["courses"]["dl-basics"]
    started = {row["lesson"] for row in rows if row["status"] != "not_started"}
    assert started == {"pandas-exploration", "linear-regression"}
    # kept for the learner and their instructors
    kept = lms.call("GET", f"/refusals/{user}", "admin").json()["refusals"]
    assert [(k["field"], k["event_id"]) for k in kept] == [(field, refusal["id"])]
    assert kept[0]["reason"] == refusal["reason"]


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


def test_the_openapi_document_describes_the_refusal_protocol(lms):
    doc = lms.call("GET", "/openapi.json", "zed").json()
    events = doc["paths"]["/events"]["post"]
    answers = {code: r.get("content", {}).get("application/json", {}).get("schema", {})
               for code, r in events["responses"].items()}
    assert answers["200"] == {"$ref": "#/components/schemas/BatchResult"}
    assert answers["400"] == answers["413"] == {"$ref": "#/components/schemas/EnvelopeError"}
    schemas = doc["components"]["schemas"]
    assert set(schemas["Refusal"]["properties"]) == {"index", "id", "field", "reason", "retry"}
    assert {"accepted", "duplicates", "taken", "refused"} <= set(
        schemas["BatchResult"]["properties"])
    assert {"/courses/{course}/refusals", "/refusals/{user}", "/"} <= set(doc["paths"])
