"""A learner with no running server opens the LMS in real Chromium: their own page lists the
course's lessons with status, Delayed and Due-in-N-days; a lesson's link starts the lesson's
environment and lands in JupyterLab on its notebook, where the sidebar shows the same notices."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ..conftest import docker
from ..spawn.accounts import login
from .conftest import ADMIN, with_session_cookies

USER = "pagelearner"
NOTICE_DAYS = 2


def as_admin(hub, method: str, path: str, **kwargs) -> requests.Response:
    token = hub.api("POST", f"/users/{ADMIN}/tokens", json={"note": "cohorts"}).json()["token"]
    return requests.request(method, f"{hub.url}/services/lms/api/{path}", timeout=30,
                            headers={"Authorization": f"token {token}"}, **kwargs)


def due_label(due: datetime, now: datetime) -> str:
    days = (due.date() - now.date()).days
    return {0: "Due today", 1: "Due tomorrow"}.get(days, f"Due in {days} days")


@pytest.fixture(scope="module")
def learner(hub):
    """A learner in a cohort whose start makes Python basics (due after 7 days) late and NumPy
    basics (14 days) due in two days; no server of theirs runs."""
    session = login(hub.url, USER)
    assert hub.api("POST", "/groups/page-cohort").status_code in (201, 409)
    assert hub.api("POST", "/groups/page-cohort/users", json={"users": [USER]}).ok
    numpy_due = datetime.now(UTC) + timedelta(days=NOTICE_DAYS, minutes=5)
    r = as_admin(hub, "PUT", "cohorts/page-cohort",
                 json={"course": "dl-basics", "start": (numpy_due - timedelta(days=14)).isoformat()})
    assert r.status_code in (200, 201), r.text
    assert as_admin(hub, "POST", "deadlines/run").ok
    assert hub.api("GET", f"/users/{USER}").json()["servers"] == {}
    yield session, numpy_due
    for server in list(hub.api("GET", f"/users/{USER}").json()["servers"]):
        hub.stop_server(USER, server)


def test_from_the_learner_page_into_the_lesson(hub, learner, browser_context):
    session, numpy_due = learner
    with_session_cookies(browser_context, session, hub.url)
    page = browser_context.new_page()
    page.goto(f"{hub.url}/services/lms/")

    # their own page, without a server: lessons in order, with status and notices
    page.locator("#learner-name").wait_for()
    rows = page.locator("tr.lms-lesson")
    assert rows.count() == 10
    python = page.locator('tr.lms-lesson[data-lesson="dl-basics/python-basics"]')
    numpy = page.locator('tr.lms-lesson[data-lesson="dl-basics/numpy-basics"]')
    assert python.get_attribute("data-status") == "delayed"
    assert python.locator(".lms-status").inner_text() == "Delayed"
    assert numpy.locator(".lms-status").inner_text() == "Not started"
    label = due_label(numpy_due, datetime.now(UTC))
    assert numpy.locator(".lms-due-soon").inner_text() == label
    notices = page.locator("#notices .lms-notice")
    assert notices.count() == 2
    assert notices.nth(0).inner_text().startswith("Delayed: Python basics")
    assert notices.nth(1).inner_text().startswith(f"{label}: NumPy basics")
    assert page.locator('tr.lms-lesson[data-lesson="dl-basics/pandas-exploration"] '
                        ".lms-due-soon").count() == 0

    # the lesson's link starts its environment's server and opens its notebook
    numpy.locator("a.lms-open").click()
    page.wait_for_url("**/user/pagelearner/scipy/lab/tree/dl-basics/02-numpy/numpy-basics.ipynb*",
                      timeout=180_000)
    page.locator(".jp-NotebookPanel").first.wait_for(timeout=90_000)
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    assert "numpy-basics.ipynb" in tab.inner_text()
    servers = hub.api("GET", f"/users/{USER}").json()["servers"]
    assert list(servers) == ["scipy"] and servers["scipy"]["ready"]
    info = json.loads(docker("inspect", f"lms-test-{hub.run_id}-{USER}--scipy"))[0]
    assert info["Config"]["Image"] == "lms/scipy:latest"

    # the course sidebar shows the same notices (in the browser's time zone)
    sidebar = page.locator("#lms-course-sidebar")
    sidebar.locator('li.lms-Lesson[data-lesson="dl-basics/numpy-basics"]').wait_for(
        timeout=60_000)
    local_now = datetime.now().astimezone()
    local_label = due_label(numpy_due.astimezone(local_now.tzinfo), local_now)
    numpy_row = sidebar.locator('li.lms-Lesson[data-lesson="dl-basics/numpy-basics"]')
    assert numpy_row.locator(".lms-Badge-due").inner_text() == local_label
    python_row = sidebar.locator('li.lms-Lesson[data-lesson="dl-basics/python-basics"]')
    assert python_row.locator(".lms-Badge-delayed").inner_text() == "Delayed"
    assert python_row.locator(".lms-Badge-due").count() == 0
    pandas_row = sidebar.locator('li.lms-Lesson[data-lesson="dl-basics/pandas-exploration"]')
    assert pandas_row.locator(".lms-Badge-due").count() == 0


def test_the_learner_page_speaks_korean(hub, learner, browser):
    session, numpy_due = learner
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ko-KR")
    try:
        with_session_cookies(context, session, hub.url)
        page = context.new_page()
        page.goto(f"{hub.url}/services/lms/")
        page.locator("#learner-name").wait_for()
        assert page.evaluate("document.documentElement.lang") == "ko"
        assert "내 코스" in page.title()
        python = page.locator('tr.lms-lesson[data-lesson="dl-basics/python-basics"]')
        numpy = page.locator('tr.lms-lesson[data-lesson="dl-basics/numpy-basics"]')
        assert python.locator(".lms-status").inner_text() == "지연"
        assert "넘파이 기초" in numpy.inner_text()
        days = (numpy_due.date() - datetime.now(UTC).date()).days
        label = {0: "오늘 마감", 1: "내일 마감"}.get(days, f"{days}일 후 마감")
        assert numpy.locator(".lms-due-soon").inner_text() == label
        assert page.locator("#notices .lms-notice").nth(1).inner_text().startswith(
            f"{label}: 넘파이 기초")
        # the switch turns the same page to English, and stays so
        page.locator("#lms-language a", has_text="English").click()
        page.locator("#learner-name").wait_for()
        assert page.evaluate("document.documentElement.lang") == "en"
        assert "NumPy basics" in page.locator(
            'tr.lms-lesson[data-lesson="dl-basics/numpy-basics"]').inner_text()
    finally:
        context.close()
