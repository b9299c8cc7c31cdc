"""A Korean learner in real Chromium: the spawn form and the dashboard in Korean by the browser's
language, switching to English, and the lesson's Korean title in JupyterLab's sidebar."""

from __future__ import annotations

import json

import pytest

from ..spawn.accounts import login, open_lesson
from .conftest import with_session_cookies

USER = "koreanlearner"


@pytest.fixture(scope="module")
def account(hub):
    return login(hub.url, USER)


@pytest.fixture
def korean(browser, hub, account):
    session = account
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ko-KR")
    context.set_default_timeout(30_000)
    with_session_cookies(context, session, hub.url)
    yield context
    context.close()


def test_the_spawn_form_follows_the_browser_and_the_switch(hub, korean):
    page = korean.new_page()
    page.goto(f"{hub.url}/hub/spawn")
    page.locator("#spawn_form").wait_for()
    assert page.locator("h1").first.inner_text() == "레슨 선택"
    assert page.locator(".lms-lesson-picker legend").first.inner_text() == "딥러닝 기초"
    assert "넘파이 기초" in page.locator(".lms-lesson-picker").inner_text()
    assert page.locator("#spawn_form button[type=submit]").inner_text() == "시작"
    assert page.evaluate("document.documentElement.lang") == "ko"
    page.locator("#lms-language a", has_text="English").click()
    page.locator("h1", has_text="Choose a lesson").wait_for()
    assert page.locator(".lms-lesson-picker legend").first.inner_text() == "Deep learning basics"
    assert "NumPy basics" in page.locator(".lms-lesson-picker").inner_text()
    page.locator("#lms-language a", has_text="한국어").click()
    page.locator("h1", has_text="레슨 선택").wait_for()


def test_the_dashboard_in_korean_then_english(hub, korean):
    page = korean.new_page()
    page.goto(f"{hub.service_url('lms')}/")
    page.locator(".navbar-brand", has_text="학습 현황").wait_for()
    assert page.evaluate("document.documentElement.lang") == "ko"
    assert page.locator("#lms-language a.active").inner_text() == "한국어"
    page.locator("#lms-language a", has_text="English").click()
    page.locator(".navbar-brand", has_text="Course progress").wait_for()
    assert page.evaluate("document.documentElement.lang") == "en"
    # the choice is remembered over the browser's Korean
    page.reload()
    page.locator(".navbar-brand", has_text="Course progress").wait_for()
    assert page.url.rstrip("/").endswith("/services/lms")


def test_the_sidebar_shows_the_korean_lesson_title(hub, korean, account):
    session = account
    open_lesson(hub.url, session, USER, "dl-basics/numpy-basics")
    r = hub.server_request(
        "PUT", USER, "lab/api/settings/@jupyterlab/translation-extension:plugin",
        data=json.dumps({"raw": json.dumps({"locale": "ko_KR"})}))
    assert r.status_code == 204, r.text
    page = korean.new_page()
    page.goto(f"{hub.url}/user/{USER}/lab/tree/dl-basics/02-numpy/numpy-basics.ipynb")
    sidebar = page.locator("#lms-course-sidebar")
    sidebar.wait_for(state="visible", timeout=90_000)
    sidebar.locator(".lms-Course-title", has_text="딥러닝 기초").wait_for()
    sidebar.locator(".lms-Lesson-title", has_text="넘파이 기초").wait_for()
    assert "Python basics" in sidebar.inner_text()  # a title given in English only
