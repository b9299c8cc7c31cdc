"""Refused events are kept for the learner's instructors: the API for a course and for a
learner, and the course page of the dashboard, each within the service's access rules."""

from __future__ import annotations

import pytest

from ..spawn.accounts import login
from .conftest import event


@pytest.fixture(scope="module")
def refused(lms):
    lms.group("cohort-a", "ref-una")
    lms.group("cohort-b", "ref-vic")
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
