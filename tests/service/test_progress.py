"""Events in, progress out; resent events are not doubled; late lessons turn delayed; surveys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import code_cell_ids, counts, event


def statuses(lms, user, viewer=None) -> dict:
    r = lms.call("GET", f"/progress/{user}", viewer or user)
    assert r.status_code == 200, r.text
    return {row["lesson"]: row for row in r.json()["courses"]["dl-basics"]}


def test_events_make_progress_and_completion_follows_the_lesson_rule(lms):
    assert statuses(lms, "ada")["python-basics"]["status"] == "not_started"
    r = lms.events("ada", event("lesson_opened", "python-basics", active_seconds=5))
    assert counts(r) == (1, 0)
    assert statuses(lms, "ada")["python-basics"]["status"] == "in_progress"
    ids = code_cell_ids(lms, "python-basics")
    assert len(ids) >= 2
    runs = [event("cell_executed", "python-basics", cell_id=i, ok=True, active_seconds=10)
            for i in ids[:-1]]
    runs.append(event("cell_executed", "python-basics", cell_id=ids[-1], ok=False))
    assert counts(lms.events("ada", *runs)) == (len(ids), 0)
    row = statuses(lms, "ada")["python-basics"]
    assert (row["status"], row["cells_ok"], row["errors"]) == ("in_progress", len(ids) - 1, 1)
    lms.events("ada", event("cell_executed", "python-basics", cell_id=ids[-1], ok=True))
    row = statuses(lms, "ada")["python-basics"]
    assert row["status"] == "completed" and row["completed_at"]
    assert row["active_seconds"] == 5 + 10 * (len(ids) - 1)


def test_cells_that_are_not_in_the_lessons_notebooks_do_not_count(lms):
    ids = code_cell_ids(lms, "python-basics")
    made_up = [event("cell_executed", "python-basics", cell_id=f"made-up-{n}", ok=True,
                     active_seconds=2) for n in range(len(ids) + 3)]
    assert counts(lms.events("abe", *made_up)) == (len(made_up), 0)  # taken, time counted
    row = statuses(lms, "abe")["python-basics"]
    assert (row["status"], row["cells_ok"], row["active_seconds"]) == (
        "in_progress", 0, 2 * len(made_up))
    # another lesson's cells do not count here either
    other = code_cell_ids(lms, "numpy-basics")
    assert not set(other) & set(ids)
    lms.events("abe", *[event("cell_executed", "python-basics", cell_id=i, ok=True)
                        for i in other])
    assert statuses(lms, "abe")["python-basics"]["cells_ok"] == 0
    lms.events("abe", *[event("cell_executed", "python-basics", cell_id=i, ok=True)
                        for i in ids])
    row = statuses(lms, "abe")["python-basics"]
    assert (row["status"], row["cells_ok"]) == ("completed", len(ids))


def test_manual_lessons_complete_on_the_learners_word(lms):
    lms.events("ben", event("lesson_opened", "model-to-production"))
    lms.events("ben", *[event("cell_executed", "model-to-production", cell_id=i, ok=True)
                        for i in code_cell_ids(lms, "model-to-production")])
    assert statuses(lms, "ben")["model-to-production"]["status"] == "in_progress"
    lms.events("ben", event("lesson_completed", "model-to-production"))
    assert statuses(lms, "ben")["model-to-production"]["status"] == "completed"


def test_resent_events_are_not_doubled(lms):
    batch = [event("lesson_opened", "numpy-basics", active_seconds=30),
             event("cell_executed", "numpy-basics", cell_id="a", ok=False, active_seconds=7)]
    assert counts(lms.events("cyd", *batch)) == (2, 0)
    r = lms.events("cyd", *batch)
    assert counts(r) == (0, 2)
    assert r.json()["taken"] == [e["id"] for e in batch]
    assert counts(lms.events("cyd", batch[0], batch[0])) == (0, 2)
    row = statuses(lms, "cyd")["numpy-basics"]
    assert (row["active_seconds"], row["errors"]) == (37, 1)


def test_lessons_past_their_deadline_turn_delayed(lms):
    lms.group("cohort-a", "dee", "eve", "fay")
    start = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    r = lms.call("PUT", "/cohorts/cohort-a", "admin", json={"course": "dl-basics", "start": start})
    assert r.status_code == 200, r.text
    lms.events("eve", event("lesson_opened", "python-basics"))
    lms.events("eve", event("lesson_completed", "python-basics"))
    lms.events("fay", event("lesson_opened", "python-basics"))
    # python-basics was due 7 days after the start, 3 days ago; numpy-basics is due in 4 days
    assert statuses(lms, "dee")["python-basics"]["status"] == "not_started"
    r = lms.call("POST", "/deadlines/run", "admin")
    assert r.status_code == 200 and r.json()["delayed"] >= 2
    assert statuses(lms, "fay")["python-basics"]["status"] == "delayed"
    # an extension is judged at once: hers runs 2 more days, so she is no longer delayed
    r = lms.call("PUT", "/cohorts/cohort-a/extensions/fay", "admin",
                 json={"lesson": "python-basics", "days": 5})
    assert r.status_code == 200, r.text
    dee, eve, fay = (statuses(lms, user) for user in ("dee", "eve", "fay"))
    assert dee["python-basics"]["status"] == "delayed"
    assert dee["numpy-basics"]["status"] == "not_started"
    assert eve["python-basics"]["status"] == "completed"
    assert fay["python-basics"]["status"] == "in_progress"
    # completing a delayed lesson completes it
    lms.events("dee", event("lesson_completed", "python-basics"))
    assert statuses(lms, "dee")["python-basics"]["status"] == "completed"


def test_instructors_see_their_cohort_in_the_course_matrix(lms):
    lms.group("cohort-b", "gus", "hal")
    lms.group("cohort-b-instructors", "ivy")
    start = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    lms.call("PUT", "/cohorts/cohort-b", "admin", json={"course": "dl-basics", "start": start})
    lms.events("gus", event("lesson_opened", "python-basics", active_seconds=60),
               event("lesson_completed", "python-basics"))
    lms.call("POST", "/deadlines/run", "admin")
    r = lms.call("GET", "/courses/dl-basics/progress", "ivy")
    assert r.status_code == 200, r.text
    data = r.json()
    # only cohort-b's learners (other tests may have added more of them); none of cohort-a's
    assert {"gus", "hal"} <= set(data["learners"])
    assert not {"dee", "eve", "fay", "amy", "bob"} & set(data["learners"])
    first = data["lessons"].index("python-basics")
    assert data["legend"][data["learners"]["gus"][first]] == "completed"
    assert data["legend"][data["learners"]["hal"][first]] == "delayed"
    assert data["learners"]["hal"][first + 1:] == "-" * (len(data["lessons"]) - 1)
    assert "hal" in data["delayed"] and "gus" not in data["delayed"]
    first = data["funnel"][0]
    assert (first["lesson"], first["completed"], first["median_active_seconds"]) == (
        "python-basics", 1, 60)
    assert statuses(lms, "hal", viewer="ivy")["python-basics"]["status"] == "delayed"


def test_survey_answers_are_checked_stored_once_and_aggregated(lms):
    # gus and hal are in cohort-b, which ivy teaches (see the test above)
    for user, rating in (("gus", 4), ("hal", 2)):
        r = lms.call("PUT", "/surveys/dl-basics/numpy-basics", user,
                     json={"answers": {"difficulty": rating, "pace": "too fast"}})
        assert r.status_code == 200, r.text
    r = lms.call("PUT", "/surveys/dl-basics/numpy-basics", "hal",
                 json={"answers": {"difficulty": 5, "comments": "more exercises"}})
    assert r.status_code == 200
    r = lms.call("PUT", "/surveys/dl-basics/numpy-basics", "hal", json={"answers": {"difficulty": 3, "pace": "x"}})
    assert r.status_code == 400 and "answers.pace" in r.json()["message"]
    assert lms.call("GET", "/surveys/dl-basics/numpy-basics", "hal").json()["answers"] == {
        "difficulty": 5, "comments": "more exercises"}
    r = lms.call("GET", "/surveys/dl-basics/numpy-basics/results", "ivy")
    assert r.status_code == 200, r.text
    results = {q["id"]: q for q in r.json()["questions"]}
    assert r.json()["responses"] == 2
    assert results["difficulty"]["counts"] == {"4": 1, "5": 1}
    assert results["pace"]["counts"] == {"too fast": 1}
    assert results["comments"]["answers"] == ["more exercises"]
    # the last lesson has its own survey
    survey = lms.call("GET", "/surveys/dl-basics/model-to-production", "hal").json()["survey"]
    assert survey["title"] == "Looking back on the course"


def test_a_cohort_start_in_another_zone_is_the_same_moment(lms):
    lms.group("cohort-seoul", "sol")
    r = lms.call("PUT", "/cohorts/cohort-seoul", "admin",
                 json={"course": "dl-basics", "start": "2026-03-02T09:00:00+09:00"})
    assert r.status_code == 200, r.text
    r = lms.call("GET", "/cohorts/cohort-seoul", "admin")
    assert datetime.fromisoformat(r.json()["start"]) == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
