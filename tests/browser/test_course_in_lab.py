"""A learner's lesson in real JupyterLab in real Chromium: the course sidebar, running a lesson,
its status changing, the survey, and going next into a lesson of another environment; what the
LMS service records meanwhile. Then the same JupyterLab in Korean."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ..spawn.accounts import login, open_lesson
from .conftest import ADMIN, with_session_cookies

USER = "browserlearner"
FIRST = "dl-basics/python-basics"
SECOND = "dl-basics/numpy-basics"


def row(page, key: str):
    return page.locator(f'li.lms-Lesson[data-lesson="{key}"]')


def wait_for_kernel_idle(page) -> None:
    """Until the notebook's kernel is connected and idle. The status bar says so only then
    ("Python 3 (ipykernel) | Idle"); the toolbar's execution indicator reads idle even before
    a kernel exists, and cells run then are dropped."""
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).wait_for(
        timeout=90_000)


def service(hub, token: str, path: str) -> dict:
    r = requests.get(f"{hub.url}/services/lms/api/{path}", timeout=30,
                     headers={"Authorization": f"token {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def status_of(progress: dict, key: str) -> str:
    course, lesson = key.split("/")
    return next(r["status"] for r in progress["courses"][course] if r["lesson"] == lesson)


def as_admin(hub, method: str, path: str, **kwargs) -> requests.Response:
    token = hub.api("POST", f"/users/{ADMIN}/tokens", json={"note": "cohorts"}).json()["token"]
    return requests.request(method, f"{hub.url}/services/lms/api/{path}", timeout=30,
                            headers={"Authorization": f"token {token}"}, **kwargs)


@pytest.fixture(scope="module")
def learner(hub):
    # a cohort that started ten days ago: Python basics (due after 7 days) is late, NumPy
    # basics (14 days) is due in four
    session = login(hub.url, USER)
    assert hub.api("POST", "/groups/browser-cohort").status_code in (201, 409)
    assert hub.api("POST", "/groups/browser-cohort/users", json={"users": [USER]}).ok
    start = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    r = as_admin(hub, "PUT", "cohorts/browser-cohort", json={"course": "dl-basics", "start": start})
    assert r.status_code in (200, 201), r.text
    assert as_admin(hub, "POST", "deadlines/run").ok
    r = open_lesson(hub.url, session, USER, FIRST)
    assert r.status_code == 200, r.text[-1000:]
    token = hub.api("POST", f"/users/{USER}/tokens", json={"note": "browser test"}).json()["token"]
    yield session, token
    for server in ("", "scipy"):
        if hub.api("GET", f"/users/{USER}").json()["servers"].get(server):
            hub.stop_server(USER, server)


def test_a_lesson_from_sidebar_to_survey_and_on_to_the_next_environment(hub, learner,
                                                                         browser_context):
    session, token = learner
    with_session_cookies(browser_context, session, hub.url)
    page = browser_context.new_page()
    page.goto(f"{hub.url}/user/{USER}/lab/tree/dl-basics/01-python/python-basics.ipynb")

    # the course sidebar opens by itself, with the lesson tree in course order
    sidebar = page.locator("#lms-course-sidebar")
    sidebar.wait_for(state="visible", timeout=60_000)
    sidebar.locator(".lms-Lesson-title").first.wait_for(timeout=60_000)  # the outline is in
    titles = sidebar.locator(".lms-Lesson-title").all_inner_texts()
    assert titles[:3] == ["Python basics", "NumPy basics", "Exploring data with pandas"], titles
    # the lesson's notebook opens, and its row is marked as the current lesson
    page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
    page.wait_for_selector(f'li.lms-Lesson-current[data-lesson="{FIRST}"]', timeout=30_000)
    # the cohort's dates: the first lesson is late, the second is due in four days
    assert row(page, FIRST).get_attribute("data-status") == "delayed"
    assert row(page, FIRST).locator(".lms-Badge-delayed").inner_text() == "Delayed"
    due = (datetime.now(UTC) + timedelta(days=4)).date()
    assert row(page, SECOND).locator(".lms-Lesson-due").inner_text() in (
        f"Due {due}", f"Due {due - timedelta(days=1)}", f"Due {due + timedelta(days=1)}")
    assert row(page, SECOND).get_attribute("data-status") == "not_started"

    # run every cell: the lesson completes by its rule and the survey is asked
    page.locator(".jp-Notebook").first.wait_for()
    wait_for_kernel_idle(page)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.locator(".lm-Menu .lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
    page.wait_for_selector(f'li[data-lesson="{FIRST}"][data-status="completed"]',
                           timeout=90_000)
    dialog = page.locator(".jp-Dialog .lms-Survey")
    dialog.wait_for(timeout=30_000)
    assert page.locator(".jp-Dialog-header").inner_text().strip() == "How was this lesson?"

    # a required question left out is marked, and the dialog stays
    page.locator(".jp-Dialog-button.jp-mod-accept").click()
    page.locator(".lms-Survey-problem").wait_for()
    assert page.locator('.lms-Question-flagged[data-question="difficulty"]').count() == 1
    page.locator('input[name="lms-q-difficulty"][value="4"]').check()
    page.locator('input[name="lms-q-pace"][value="about right"]').check()
    page.locator('textarea[name="lms-q-comments"]').fill("More exercises, please")
    page.locator(".jp-Dialog-button.jp-mod-accept").click()
    page.get_by_text("Thank you: your answers were sent.").wait_for()

    # the LMS service has the progress and the answers
    progress = service(hub, token, f"progress/{USER}")
    assert status_of(progress, FIRST) == "completed"
    answers = service(hub, token, f"surveys/{FIRST}")["answers"]
    assert answers == {"difficulty": 4, "pace": "about right",
                       "comments": "More exercises, please"}

    # next: NumPy basics runs in the scipy environment, so it starts as another server
    page.locator(".lms-Nav-next:visible").click()
    page.locator(".jp-Dialog").get_by_text("scipy").first.wait_for()
    page.locator(".jp-Dialog-button.jp-mod-accept").click()
    page.wait_for_url(re.compile(rf"/user/{USER}/scipy/lab/tree/dl-basics/02-numpy/"
                                 r"numpy-basics\.ipynb"), timeout=120_000)
    page.locator("#lms-course-sidebar").wait_for(state="visible", timeout=60_000)
    page.wait_for_selector(f'li.lms-Lesson-current[data-lesson="{SECOND}"]')
    assert row(page, FIRST).get_attribute("data-status") == "completed"
    page.wait_for_selector(f'li[data-lesson="{SECOND}"][data-status="in_progress"]',
                           timeout=90_000)
    server = hub.api("GET", f"/users/{USER}").json()["servers"]["scipy"]
    assert server["ready"] and server["user_options"] == {"lesson": SECOND}

    # previous leads back to the server that already runs the python environment
    page.locator(".lms-Nav-previous:visible").click()
    page.locator(".jp-Dialog-button.jp-mod-accept").click()
    page.wait_for_url(re.compile(rf"/user/{USER}/lab/tree/dl-basics/01-python/"), timeout=60_000)
    assert set(hub.api("GET", f"/users/{USER}").json()["servers"]) == {"", "scipy"}


def test_the_course_speaks_korean_when_jupyterlab_does(hub, learner, browser_context):
    session, _ = learner
    translations = hub.server_request("GET", USER, "lab/api/translations/ko_KR").json()
    assert translations["data"]["lms_course"]["Next"] == ["다음"]
    r = hub.server_request(
        "PUT", USER, "lab/api/settings/@jupyterlab/translation-extension:plugin",
        data=json.dumps({"raw": json.dumps({"locale": "ko_KR"})}))
    assert r.status_code == 204, r.text
    try:
        with_session_cookies(browser_context, session, hub.url)
        page = browser_context.new_page()
        page.goto(f"{hub.url}/user/{USER}/lab/tree/dl-basics/01-python/python-basics.ipynb")
        sidebar = page.locator("#lms-course-sidebar")
        sidebar.wait_for(state="visible", timeout=60_000)
        assert sidebar.locator(".lms-Sidebar-title").inner_text() == "코스"
        page.locator(".lms-Nav-next:visible").wait_for()
        assert page.locator(".lms-Nav-next:visible").inner_text().startswith("다음")
        assert "완료" in sidebar.locator(".lms-Course-progress").first.inner_text()
        # visits to the server are told in Korean too (tests/browser/test_ta_visit.py shows one)
        visit = translations["data"]["lms_course"]["%1 opened your server at %2 (about %3 min)."]
        assert visit == ["%1 님이 %2에 이 서버를 열었습니다 (약 %3분)."]
    finally:
        hub.server_request(
            "PUT", USER, "lab/api/settings/@jupyterlab/translation-extension:plugin",
            data=json.dumps({"raw": json.dumps({"locale": "en"})}))
