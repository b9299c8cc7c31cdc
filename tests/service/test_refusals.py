"""Refused events are kept for the learner's instructors: the API for a course and for a
learner, and the course page of the dashboard, each within the service's access rules; lesson
servers report the events they refused themselves (``POST api/refusals``)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ..spawn.accounts import login
from .conftest import event


@pytest.fixture(scope="module")
def refused(lms):
    lms.group("cohort-a", "ref-una", "ref-wes")
    lms.group("cohort-b", "ref-vic", "ref-xan")
    lms.group("cohort-a-instructors", "ref-teach-a")
    lms.group("cohort-b-instructors", "ref-teach-b")
    for cohort in ("cohort-a", "cohort-b"):
        r = lms.call("PUT", f"/cohorts/{cohort}", "admin",
                     json={"course": "dl-basics", "start": "2026-01-01T00:00:00Z"})
        assert r.status_code == 200, r.text
    una = [event("lesson_opened", "python-basics"),
           event("lesson_opened", "no-such-lesson"),
           {**event("lesson_opened", "python-basics"), "at": "yesterday"},
           event("survey_submitted", "python-basics", answers={"difficulty": 9}),
           ["<b>not an event</b>"]]
    r = lms.events("ref-una", *una)
    assert r.status_code == 200, r.text
    assert [x["field"] for x in r.json()["refused"]] == [
        "events.1.lesson", "events.2.at", "events.3.answers.difficulty", "events.4"]
    r = lms.events("ref-vic", event("lesson_opened", "nope-either"))
    assert r.json()["refused"][0]["field"] == "events.0.lesson"
    return lms, una


def test_a_learner_sees_their_own_refusals_and_no_one_elses(refused):
    lms, una = refused
    r = lms.call("GET", "/refusals/ref-una", "ref-una")
    assert r.status_code == 200, r.text
    kept = r.json()["refusals"]
    assert [k["field"] for k in kept] == [  # the newest first
        "events.4", "events.3.answers.difficulty", "events.2.at", "events.1.lesson"]
    by_field = {k["field"]: k for k in kept}
    lesson = by_field["events.1.lesson"]
    assert (lesson["event_id"], lesson["course"], lesson["lesson"]) == (
        una[1]["id"], "dl-basics", "no-such-lesson")
    assert lesson["reason"] == "unknown lesson dl-basics/no-such-lesson"
    assert '"no-such-lesson"' in lesson["body"]
    assert by_field["events.4"]["event_id"] is None
    assert lms.call("GET", "/refusals/ref-una", "ref-vic").status_code == 403
    assert lms.call("GET", "/refusals/ref-una?limit=0", "ref-una").status_code == 400


def test_instructors_see_the_refusals_of_their_cohorts_only(refused):
    lms, _ = refused
    r = lms.call("GET", "/courses/dl-basics/refusals", "ref-teach-a")
    assert r.status_code == 200, r.text
    users = {k["user"] for k in r.json()["refusals"]}
    assert "ref-una" in users and "ref-vic" not in users
    assert len([k for k in r.json()["refusals"] if k["user"] == "ref-una"]) == 4
    r = lms.call("GET", "/courses/dl-basics/refusals", "ref-teach-b")
    users = {k["user"] for k in r.json()["refusals"]}
    assert "ref-vic" in users and "ref-una" not in users
    assert lms.call("GET", "/refusals/ref-una", "ref-teach-a").status_code == 200
    assert lms.call("GET", "/refusals/ref-una", "ref-teach-b").status_code == 403
    # a learner is no instructor
    assert lms.call("GET", "/courses/dl-basics/refusals", "ref-una").status_code == 403
    r = lms.call("GET", "/courses/dl-basics/refusals?limit=1000", "admin")
    assert {"ref-una", "ref-vic"} <= {k["user"] for k in r.json()["refusals"]}


def test_the_course_page_shows_them(refused):
    lms, _ = refused
    teacher = login(lms.hub.url, "ref-tina")
    lms.hub.api("POST", "/groups/cohort-a-instructors/users", json={"users": ["ref-tina"]})
    r = teacher.get(f"{lms.hub.service_url('lms')}/courses/dl-basics", timeout=30)
    assert r.status_code == 200, r.text[-500:]
    section = r.text[r.text.index('id="refusals"'):r.text.index('id="matrix"')]
    assert ">ref-una<" in section and "ref-vic" not in section
    assert "unknown lesson dl-basics/no-such-lesson" in section
    assert "<b>not an event</b>" not in section  # escaped
    assert "&lt;b&gt;not an event&lt;/b&gt;" in section


def report(**fields) -> dict:
    """What a lesson server reports of an event it refused itself (``POST api/refusals``)."""
    event_id = str(uuid.uuid4())
    body = json.dumps({"id": event_id, "kind": "cell_executed", "course": "dl-basics",
                       "lesson": "numpy-basics", "cell_id": "c1"})
    return {"report_id": event_id, "id": event_id, "course": "dl-basics",
            "lesson": "numpy-basics", "field": "events.0.ok",
            "reason": "ok: cell_executed events need cell_id and ok",
            "at": datetime.now(UTC).isoformat(), "body": body, **fields}


def post_reports(lms, user: str, *reports: dict):
    return lms.call("POST", "/refusals", user, json={"refusals": list(reports)})


def mine(lms, user: str) -> list[dict]:
    r = lms.call("GET", f"/refusals/{user}?limit=1000", "admin")
    assert r.status_code == 200, r.text
    return r.json()["refusals"]


@pytest.fixture(scope="module")
def reporters(refused):
    """ref-wes learns in cohort-a, ref-xan in cohort-b (see ``refused``)."""
    return refused[0]


def test_a_lesson_servers_refusals_reach_the_instructors_of_the_learner(reporters):
    lms = reporters
    broken, unreadable = report(), report(id=None, course=None, lesson=None, field="events.2",
                                          reason="must be a JSON object", body='["x"]')
    unreadable["report_id"] = f"unreadable-{uuid.uuid4()}"
    r = post_reports(lms, "ref-wes", broken, unreadable)
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 2, "duplicates": 0,
                        "taken": [broken["report_id"], unreadable["report_id"]]}
    r = lms.call("GET", "/courses/dl-basics/refusals", "ref-teach-a")
    assert r.status_code == 200, r.text
    wes = [k for k in r.json()["refusals"] if k["user"] == "ref-wes"]
    by_field = {k["field"]: k for k in wes}
    assert set(by_field) == {"events.0.ok", "events.2"}
    kept = by_field["events.0.ok"]
    assert (kept["event_id"], kept["course"], kept["lesson"], kept["source"]) == (
        broken["id"], "dl-basics", "numpy-basics", "lesson server")
    assert kept["reason"] == broken["reason"] and kept["body"] == broken["body"]
    assert by_field["events.2"]["course"] is None  # shown for the learner's cohort anyway
    # the service's own refusals are marked as such
    assert {k["source"] for k in r.json()["refusals"] if k["user"] == "ref-una"} == {"service"}
    r = lms.call("GET", "/courses/dl-basics/refusals", "ref-teach-b")
    assert "ref-wes" not in {k["user"] for k in r.json()["refusals"]}
    assert len(mine(lms, "ref-wes")) == 2


def test_reports_are_always_the_callers_own(reporters):
    lms = reporters
    wes = report()
    assert post_reports(lms, "ref-wes", wes).status_code == 200
    # the same report id (and event id) from another learner: a report of theirs, not wes's
    r = post_reports(lms, "ref-xan", {**wes, "reason": "xan's reason"})
    assert r.status_code == 200 and r.json()["stored"] == 1, r.text
    r = post_reports(lms, "ref-xan", {**report(), "user": "ref-wes"})
    assert r.status_code == 400 and r.json()["message"].startswith("refusals.0.user: Extra")
    kept_wes = [k for k in mine(lms, "ref-wes") if k["event_id"] == wes["id"]]
    assert [k["reason"] for k in kept_wes] == [wes["reason"]]
    assert [k["reason"] for k in mine(lms, "ref-xan")] == ["xan's reason"]
    r = lms.call("GET", "/courses/dl-basics/refusals", "ref-teach-a")
    assert "ref-xan" not in {k["user"] for k in r.json()["refusals"]}
    r = lms.call("GET", "/courses/dl-basics/refusals", "ref-teach-b")
    assert {k["reason"] for k in r.json()["refusals"] if k["user"] == "ref-xan"} == {
        "xan's reason"}


@pytest.mark.parametrize("body, status, message", [
    (b"not json", 400, "body: not valid JSON"),
    (b"[]", 400, "body: must be a JSON object"),
    (b"{}", 400, "refusals: Field required"),
    (b'{"refusals": []}', 400, "refusals: List should have at least 1 item"),
    ({"refusals": [report()], "more": 1}, 400, "more: Extra inputs are not permitted"),
    ({"refusals": [report(course="Not A Slug")]}, 400, "refusals.0.course: String should "
     "match pattern"),
    ({"refusals": [report(), report(id="not-a-uuid")]}, 400, "refusals.1.id: Input should be "
     "a valid UUID"),
    ({"refusals": [report(report_id="../../x")]}, 400, "refusals.0.report_id: String should "
     "match pattern"),
    ({"refusals": [report(at="2026-01-01T00:00:00")]}, 400, "refusals.0.at: must carry a "
     "time zone"),
    ({"refusals": [report(body="x" * 5000)]}, 400, "refusals.0.body: String should have at "
     "most 4001 characters"),
    ({"refusals": [report(field="")]}, 400, "refusals.0.field: String should have at least"),
    ({"refusals": [report() for _ in range(101)]}, 413, "refusals: 101 reports are more than "
     "the limit of 100"),
    ({"refusals": [report(body="x" * 4000) for _ in range(70)]}, 413, "body: "),
])
def test_malformed_reports_are_refused_naming_the_field(reporters, body, status, message):
    lms = reporters
    before = len(mine(lms, "ref-xan"))
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    r = lms.call("POST", "/refusals", "ref-xan", **kwargs)
    assert r.status_code == status, r.text
    assert r.json()["message"].startswith(message), r.json()
    if status == 413:
        assert r.json()["limit"] in (100, 262_144)
    assert len(mine(lms, "ref-xan")) == before, "nothing of a refused body is stored"


def test_a_report_sent_again_is_stored_once(reporters):
    lms = reporters
    first, second = report(), report()
    r = post_reports(lms, "ref-wes", first, first, second)
    assert r.json()["stored"] == 2 and r.json()["duplicates"] == 1, r.text
    r = post_reports(lms, "ref-wes", second, first)  # its answer was lost: sent again
    assert r.json() == {"stored": 0, "duplicates": 2,
                        "taken": [second["report_id"], first["report_id"]]}
    ids = [k["event_id"] for k in mine(lms, "ref-wes")]
    assert ids.count(first["id"]) == ids.count(second["id"]) == 1
    # an event the service refused itself is not kept a second time when reported
    unknown = event("lesson_opened", "no-such-lesson")
    assert lms.events("ref-wes", unknown).json()["refused"][0]["id"] == unknown["id"]
    r = post_reports(lms, "ref-wes", report(id=unknown["id"], report_id=unknown["id"]))
    assert r.json()["duplicates"] == 1, r.text
    kept = [k for k in mine(lms, "ref-wes") if k["event_id"] == unknown["id"]]
    assert [k["source"] for k in kept] == ["service"]


def test_reports_count_toward_the_refusals_kept_per_learner(reporters):
    lms = reporters
    lms.token("ref-yul")
    start = datetime.now(UTC) - timedelta(days=1)
    sent = [report(at=(start + timedelta(seconds=i)).isoformat(), reason=f"number {i}")
            for i in range(1050)]
    for i in range(0, len(sent), 100):
        assert post_reports(lms, "ref-yul", *sent[i:i + 100]).status_code == 200
    future = report(at="2999-01-01T00:00:00Z", reason="from the future")
    assert post_reports(lms, "ref-yul", future).status_code == 200
    kept = mine(lms, "ref-yul")
    assert len(kept) == 1000  # LmsService.max_stored_refusals
    assert kept[0]["reason"] == "from the future" and kept[0]["at"] < "2999"
    assert kept[-1]["reason"] == "number 51"  # the oldest ones went


def test_the_course_page_marks_where_an_event_was_refused(reporters):
    lms = reporters
    script = '<script>alert("wes")</script>'
    assert post_reports(lms, "ref-wes", report(reason=script, field=script)).status_code == 200
    teacher = login(lms.hub.url, "ref-tom")
    lms.hub.api("POST", "/groups/cohort-a-instructors/users", json={"users": ["ref-tom"]})
    r = teacher.get(f"{lms.hub.service_url('lms')}/courses/dl-basics", timeout=30)
    assert r.status_code == 200, r.text[-500:]
    section = r.text[r.text.index('id="refusals"'):r.text.index('id="matrix"')]
    rows = section.split("<tr>")
    assert any(">ref-wes<" in row and ">lesson server<" in row for row in rows)
    assert any(">ref-una<" in row and ">service<" in row for row in rows)
    assert script not in r.text  # what a learner reports is shown as text
    assert "&lt;script&gt;alert(&#34;wes&#34;)&lt;/script&gt;" in section


def test_the_openapi_document_describes_the_reports(reporters):
    doc = reporters.call("GET", "/openapi.json", "ref-xan").json()
    post = doc["paths"]["/refusals"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RefusalReports"}
    answers = {code: r.get("content", {}).get("application/json", {}).get("schema", {})
               for code, r in post["responses"].items()}
    assert answers["200"] == {"$ref": "#/components/schemas/ReportsResult"}
    assert answers["400"] == answers["413"] == {"$ref": "#/components/schemas/EnvelopeError"}
    assert {"report_id", "id", "course", "lesson", "field", "reason", "at", "body"} == set(
        doc["components"]["schemas"]["RefusalReport"]["properties"])
