"""Knowledge checks end to end in real Chromium: a learner answers the lesson's check from the
notebook toolbar in JupyterLab, the LMS service grades it per question, and an admin sees each
question's results on the dashboard page linked from the course page."""

from __future__ import annotations

import shutil

import pytest
import requests

from ..conftest import publish
from ..hubctl import ROOT
from ..spawn.accounts import _xsrf, login, open_lesson, printed_passwords
from .conftest import ADMIN, with_session_cookies

USER = "checklearner"
LESSON = "dl-basics/python-basics"
CHECKS = """\
title: {en: Python basics check, ko: 파이썬 기초 확인}
questions:
  - id: len-scores
    type: single
    text: "What does len([72, 88, 95]) return?"
    options: ["3", "95", "255"]
    answer: "3"
  - id: comprehension
    type: multiple
    text: Which of these build a new list?
    options: ["[s for s in scores]", "list(scores)", "{s: 1 for s in scores}"]
    answer: ["[s for s in scores]", "list(scores)"]
  - id: mean
    type: numeric
    text: "What is the mean of [1, 2, 3, 4]?"
    answer: 2.5
    tolerance: 0.001
  - id: keyword
    type: text
    text: Which keyword defines a function?
    answer: [def]
"""


@pytest.fixture(scope="module")
def content_remote(tmp_path_factory):
    """The demo course with a knowledge check of this module's own for its first lesson."""
    src = tmp_path_factory.mktemp("checks-browser-src")
    shutil.copytree(ROOT / "content_repo", src, dirs_exist_ok=True)
    (src / "dl-basics" / "checks").mkdir(exist_ok=True)
    (src / "dl-basics" / "checks" / "python-basics.yaml").write_text(CHECKS)
    remote = tmp_path_factory.mktemp("checks-browser-remote") / "content.git"
    publish(src, remote, "A knowledge check")
    return remote


def as_admin(hub, method: str, path: str, **kwargs) -> requests.Response:
    token = hub.api("POST", f"/users/{ADMIN}/tokens", json={"note": "checks"}).json()["token"]
    return requests.request(method, f"{hub.url}/services/lms/api/{path}", timeout=30,
                            headers={"Authorization": f"token {token}"}, **kwargs)


def admin_session(hub) -> requests.Session:
    password = printed_passwords(hub.log_path.read_text(errors="replace"), ADMIN)[-1]
    session = requests.Session()
    token = _xsrf(session, f"{hub.url}/hub/login")
    r = session.post(f"{hub.url}/hub/login?next=%2Fhub%2Fhome", timeout=30,
                     data={"_xsrf": token, "username": ADMIN, "password": password})
    assert r.status_code == 200 and r.url.endswith("/hub/home"), r.url
    return session


@pytest.fixture(scope="module")
def learner(hub):
    session = login(hub.url, USER)
    assert hub.api("POST", "/groups/checks-cohort").status_code in (201, 409)
    assert hub.api("POST", "/groups/checks-cohort/users", json={"users": [USER]}).ok
    r = as_admin(hub, "PUT", "cohorts/checks-cohort",
                 json={"course": "dl-basics", "start": "2026-01-01T00:00:00Z"})
    assert r.status_code in (200, 201), r.text
    r = open_lesson(hub.url, session, USER, LESSON)
    assert r.status_code == 200, r.text[-1000:]
    yield session
    if hub.api("GET", f"/users/{USER}").json()["servers"].get(""):
        hub.stop_server(USER)


def fill(page, keyword: str) -> None:
    page.locator('input[name="lms-check-len-scores"][value="3"]').check()
    page.locator('input[name="lms-check-comprehension"][value="[s for s in scores]"]').check()
    page.locator('input[name="lms-check-comprehension"][value="list(scores)"]').check()
    page.locator('input[name="lms-check-mean"]').fill("2.5")
    page.locator('input[name="lms-check-keyword"]').fill(keyword)
    page.locator(".jp-Dialog-button.jp-mod-accept").click()


def test_answered_in_jupyterlab_graded_and_shown_per_question(hub, learner, browser,
                                                             browser_context):
    with_session_cookies(browser_context, learner, hub.url)
    page = browser_context.new_page()
    page.goto(f"{hub.url}/user/{USER}/lab/tree/dl-basics/01-python/python-basics.ipynb")
    button = page.locator(".lms-Checks-button")
    button.wait_for(timeout=90_000)
    button.click()
    page.locator(".jp-Dialog .lms-Checks").wait_for()
    assert page.locator(".jp-Dialog-header").inner_text().strip() == "Python basics check"
    # one wrong answer: graded per question, not passed, nothing about what was right
    fill(page, "function")
    score = page.locator(".lms-Checks-score")
    score.wait_for()
    assert score.inner_text().startswith("3 of 4 right."), score.inner_text()
    question = page.locator('.lms-Question[data-question="keyword"]')
    assert question.get_attribute("data-result") == "wrong"
    assert page.locator('.lms-Question[data-question="mean"]').get_attribute(
        "data-result") == "right"
    assert "def" not in page.locator(".jp-Dialog").inner_text().split()
    # the answers stay in the dialog: correct one and check again
    page.locator('input[name="lms-check-keyword"]').fill("  DEF ")
    page.locator(".jp-Dialog-button.jp-mod-accept").click()
    page.locator(".lms-Checks-score.lms-Checks-passed").wait_for()
    assert page.locator(".lms-Checks-score").inner_text().startswith("4 of 4 right.")
    page.locator(".jp-Dialog-button.jp-mod-reject").click()

    # the admin's dashboard: from the course page to the lesson's check results
    staff = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    staff.set_default_timeout(30_000)
    with_session_cookies(staff, admin_session(hub), hub.url)
    try:
        page = staff.new_page()
        page.goto(f"{hub.url}/services/lms/courses/dl-basics")
        page.locator("#funnel a.lms-check-link").first.click()
        page.wait_for_url("**/courses/dl-basics/checks/python-basics")
        keyword = page.locator("#q-keyword")
        cells = keyword.locator(f'tr[data-user="{USER}"] td').all_inner_texts()
        assert [c.strip() for c in cells] == [USER, "DEF", "right"], cells
        assert keyword.locator(".lms-percent").inner_text() == "100% right"
        learner_row = page.locator("#check-learners tr", has_text=USER).locator("td")
        assert [c.strip() for c in learner_row.all_inner_texts()] == [USER, "2", "4 / 4", "yes"]
    finally:
        staff.close()
