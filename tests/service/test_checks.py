"""Knowledge checks through a real hub and LMS service: grading of every kind of question,
attempts stored and shown only to their learner, keys in no answer of the API, who may see the
results, and completion rules that need the checks."""

from __future__ import annotations

import json
import shutil

import pytest
import requests

from ..conftest import publish
from ..hubctl import ROOT, Hub
from .conftest import Lms, code_cell_ids, event, wait_for

COURSE = """\
slug: quiz-course
title: {en: Quiz course, ko: 퀴즈 코스}
environments:
  cpu: {image: "lms/base:latest"}
default_environment: cpu
lessons:
  - slug: quiz
    title: A lesson completed by its checks
    notebooks: [lesson.ipynb]
    completion: checks
  - slug: mixed
    title: Cells and checks
    notebooks: [mixed.ipynb]
    completion: {rule: executed, checks: true}
  - slug: plain
    title: No checks here
    notebooks: [plain.ipynb]
"""

CHECKS = """\
title: {en: Quiz, ko: 퀴즈}
questions:
  - id: colour
    type: single
    text: {en: "Sky colour?", ko: "하늘 색?"}
    options: [green, {en: blue, ko: 파랑}]
    answer: blue
  - id: primes
    type: multiple
    text: Primes?
    options: ["2", "3", "4"]
    answer: ["2", "3"]
  - id: euler
    type: numeric
    text: e to two decimals?
    answer: 2.71828
    tolerance: 0.005
  - id: keyword
    type: text
    text: Keyword of a function?
    answer: [Define Function, def]
"""
RIGHT = {"colour": "blue", "primes": ["3", "2"], "euler": 2.72, "keyword": " DEF "}
KEY_MARKERS = ("2.71828", "Define Function", "tolerance", '"answer"')


@pytest.fixture(scope="module")
def lms(docker_engine, run_id, tmp_path_factory):
    src = tmp_path_factory.mktemp("checks-src")
    shutil.copytree(ROOT / "content_repo", src, dirs_exist_ok=True)
    course = src / "quiz-course"
    (course / "checks").mkdir(parents=True)
    (course / "course.yaml").write_text(COURSE)
    for name in ("lesson.ipynb", "mixed.ipynb", "plain.ipynb"):
        shutil.copy(ROOT / "content_repo/dl-basics/01-python/python-basics.ipynb", course / name)
    (course / "checks" / "quiz.yaml").write_text(CHECKS)
    (course / "checks" / "mixed.yaml").write_text(CHECKS)
    remote = tmp_path_factory.mktemp("checks-remote") / "content.git"
    publish(src, remote, "Course with checks")
    db = tmp_path_factory.mktemp("checks-db") / "lms.sqlite"
    hub = Hub(tmp_path_factory.mktemp("checks-hub"), str(remote), f"{run_id}-chk",
              {"LMS_SERVICE_DB_URL": f"sqlite:///{db}", "LMS_COHORTS": "cohort-a,cohort-b",
               "LMS_ADMIN_USERS": "adam"})
    hub.start()
    service = Lms(hub)
    wait_for(hub, lambda: service.call("GET", "/content", "admin").json()["version"],
             "no content published")
    service.group("cohort-a", "amy", "bob")
    service.group("cohort-b", "cal")
    service.group("cohort-a-instructors", "ida")
    service.group("cohort-b-instructors", "tia")
    for group in ("cohort-a", "cohort-b"):
        r = service.call("PUT", f"/cohorts/{group}", "admin",
                         json={"course": "quiz-course", "start": "2026-01-01T00:00:00Z"})
        assert r.status_code == 200, r.text
    yield service
    hub.stop()


def no_keys(response: requests.Response) -> dict:
    for marker in KEY_MARKERS:
        assert marker not in response.text, (marker, response.text)
    return response.json()


def answer(lms: Lms, user: str, answers: dict, lesson: str = "quiz") -> dict:
    r = lms.call("POST", f"/checks/quiz-course/{lesson}", user, json={"answers": answers})
    assert r.status_code == 200, r.text
    return no_keys(r)


def status(lms: Lms, user: str, lesson: str) -> str:
    r = lms.call("GET", f"/progress/{user}", user)
    return next(x for x in r.json()["courses"]["quiz-course"] if x["lesson"] == lesson)["status"]


def test_the_questions_come_without_keys(lms):
    r = lms.call("GET", "/checks/quiz-course/quiz", "amy")
    assert r.status_code == 200, r.text
    data = no_keys(r)
    assert [q["id"] for q in data["checks"]["questions"]] == ["colour", "primes", "euler",
                                                             "keyword"]
    assert data["checks"]["questions"][0]["labels"][1] == {"en": "blue", "ko": "파랑"}
    assert data["attempts"] == 0 and data["best"] is None and data["passed"] is False
    # nor in the catalog, nor in the OpenAPI document
    for path in ("/catalog", "/openapi.json"):
        no_keys(lms.call("GET", path, "amy"))
    lesson = next(x for c in lms.call("GET", "/catalog", "amy").json()["courses"]
                  if c["slug"] == "quiz-course" for x in c["lessons"] if x["slug"] == "quiz")
    assert lesson["knowledge_checks"] == 4


def test_each_kind_is_graded(lms):
    got = answer(lms, "bob", {"colour": "green", "primes": ["2"], "euler": 2.73,
                              "keyword": "de f"})
    assert got["results"] == {"colour": False, "primes": False, "euler": False,
                              "keyword": True}  # spaces and case do not count
    got = answer(lms, "bob", {"colour": "blue", "primes": ["2", "3", "4"], "euler": "2.714",
                              "keyword": "define function"})
    assert got["results"] == {"colour": True, "primes": False, "euler": True, "keyword": True}
    assert (got["correct"], got["total"], got["passed"]) == (3, 4, False)
    got = answer(lms, "bob", {"euler": 2.7229})  # the tolerance, from the other side
    assert got["results"]["euler"] is True and got["correct"] == 1
    # every attempt is stored: the best and the latest come back
    assert got["attempts"] == 3
    assert got["best"]["correct"] == 3 and got["latest"]["correct"] == 1
    assert status(lms, "bob", "quiz") != "completed"


@pytest.mark.parametrize("answers, field", [
    ({"colour": "purple"}, "answers.colour"),
    ({"euler": "lots"}, "answers.euler"),
    ({"primes": "2"}, "answers.primes"),
    ({"nope": 1}, "answers.nope"),
])
def test_bad_answers_are_refused_naming_the_question(lms, answers, field):
    r = lms.call("POST", "/checks/quiz-course/quiz", "cal", json={"answers": answers})
    assert r.status_code == 400 and r.json()["message"].startswith(f"{field}: "), r.text
    no_keys(r)
    assert lms.call("GET", "/checks/quiz-course/quiz", "cal").json()["attempts"] == 0


def test_unknown_lessons_and_lessons_without_checks_are_404(lms):
    assert lms.call("GET", "/checks/quiz-course/nope", "amy").status_code == 404
    assert lms.call("GET", "/checks/quiz-course/plain", "amy").status_code == 404
    assert lms.call("POST", "/checks/nope/quiz", "amy", json={"answers": {}}).status_code == 404


def test_passing_completes_a_lesson_whose_rule_is_checks(lms):
    lms.events("amy", event("lesson_completed", "quiz", course="quiz-course"))
    assert status(lms, "amy", "quiz") != "completed"  # marking it is not enough
    got = answer(lms, "amy", RIGHT)
    assert got["passed"] is True and got["correct"] == 4
    assert status(lms, "amy", "quiz") == "completed"


def test_executed_and_checks_needs_both(lms):
    cells = code_cell_ids(lms, "mixed", course="quiz-course")
    answer(lms, "cal", RIGHT, lesson="mixed")
    assert status(lms, "cal", "mixed") != "completed"  # checks alone: not yet
    lms.events("cal", *[event("cell_executed", "mixed", course="quiz-course", cell_id=c, ok=True)
                        for c in cells])
    assert status(lms, "cal", "mixed") == "completed"
    # the other way round: cells first, then the checks
    lms.events("amy", *[event("cell_executed", "mixed", course="quiz-course", cell_id=c, ok=True)
                        for c in cells])
    assert status(lms, "amy", "mixed") != "completed"
    answer(lms, "amy", RIGHT, lesson="mixed")
    assert status(lms, "amy", "mixed") == "completed"


def test_a_learner_sees_only_their_own_attempts(lms):
    answer(lms, "bob", {"colour": "green"}, lesson="mixed")
    mine = lms.call("GET", "/checks/quiz-course/mixed", "bob").json()
    assert mine["attempts"] == 1 and mine["latest"]["answers"] == {"colour": "green"}
    theirs = lms.call("GET", "/checks/quiz-course/mixed", "amy").json()
    assert theirs["latest"]["answers"] == RIGHT | {"primes": ["2", "3"]}
    # the results per question are for staff only
    for who in ("amy", "bob"):
        r = lms.call("GET", "/checks/quiz-course/mixed/results", who)
        assert r.status_code == 403, (who, r.text)


@pytest.mark.parametrize("who, sees", [
    ("ida", {"amy", "bob"}),       # instructor of cohort-a
    ("tia", {"cal"}),              # instructor of cohort-b
    ("admin", {"amy", "bob", "cal"}),
])
def test_staff_see_the_results_of_their_cohorts(lms, who, sees):
    r = lms.call("GET", "/checks/quiz-course/mixed/results", who)
    assert r.status_code == 200, r.text
    data = no_keys(r)
    assert {x["user"] for x in data["learners"]} == sees
    colour = next(q for q in data["questions"] if q["id"] == "colour")
    assert {a["user"] for a in colour["answers"]} == sees
    rights = {a["user"]: a["right"] for a in colour["answers"]}
    expected = {"amy": True, "bob": False, "cal": True}
    assert rights == {u: expected[u] for u in sees}
    assert colour["percent_right"] == round(100 * sum(rights.values()) / len(rights))


def test_nobody_without_a_token(lms):
    for method, path in (("GET", "/checks/quiz-course/quiz"), ("POST", "/checks/quiz-course/quiz"),
                         ("GET", "/checks/quiz-course/quiz/results")):
        r = requests.request(method, f"{lms.api_url}{path}", json={"answers": RIGHT}, timeout=30)
        assert r.status_code == 401, (method, path, r.text)


def test_the_dashboard_page_shows_results_per_question(lms):
    # through the API the page's data is what staff get; the page itself is tested in Chromium
    data = lms.call("GET", "/checks/quiz-course/quiz/results", "ida").json()
    keyword = next(q for q in data["questions"] if q["id"] == "keyword")
    by_user = {a["user"]: a for a in keyword["answers"]}
    assert by_user["amy"]["given"] == " DEF " and by_user["amy"]["right"] is True
    assert by_user["bob"]["right"] is False  # bob's latest attempt left it unanswered
    assert json.dumps(data).count("Define Function") == 0
