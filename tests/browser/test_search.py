"""Course search in real Chromium: the search box of JupyterLab's course sidebar opens the
notebook of a hit at its cell (and offers the other server for a lesson in another
environment); the LMS service's search page lists hits that link to the lesson, in English and
Korean."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..spawn.accounts import login, open_lesson
from .conftest import with_session_cookies

USER = "searchlearner"
LESSON = "dl-basics/python-basics"  # environment "python", as model-to-production


@pytest.fixture(scope="module")
def learner(hub):
    session = login(hub.url, USER)
    r = open_lesson(hub.url, session, USER, LESSON)
    assert r.status_code == 200, r.text[-1000:]
    yield session
    hub.stop_server(USER)


def test_a_sidebar_search_opens_the_notebook_at_the_hit(hub, learner, browser_context):
    with_session_cookies(browser_context, learner, hub.url)
    page = browser_context.new_page()
    page.goto(f"{hub.url}/user/{USER}/lab/tree/dl-basics/01-python/python-basics.ipynb")
    sidebar = page.locator("#lms-course-sidebar")
    sidebar.wait_for(state="visible", timeout=60_000)
    # the lesson's own notebook first, so that it does not take the focus back later
    page.locator(".lm-TabBar-tab.jp-mod-current", has_text="python-basics.ipynb").wait_for(
        timeout=60_000)
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()

    box = sidebar.get_by_role("searchbox", name="Search the course")
    box.fill("packaging the model")
    hit = sidebar.locator(".lms-Search-hit").first
    hit.wait_for()
    assert hit.get_attribute("data-lesson") == "dl-basics/model-to-production"
    assert hit.locator(".lms-Search-title").inner_text() == "From model to production"
    assert hit.locator("mark").inner_text() == "Packaging"
    hit.click()

    # the lesson's notebook opens in this server (same environment), at the hit's cell
    tab = page.locator(".lm-TabBar-tab.jp-mod-current", has_text="model-to-production.ipynb")
    tab.wait_for(timeout=60_000)
    active = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-mod-active")
    expect(active).to_contain_text("Packaging the model", timeout=30_000)
    expect(active).to_be_in_viewport()

    # nothing found says so; a hit in another environment offers that server
    box.fill("zyxwvut")
    sidebar.locator(".lms-Search-none").wait_for()
    assert "zyxwvut" in sidebar.locator(".lms-Search-none").inner_text()
    box.fill("broadcasting")
    other = sidebar.locator('.lms-Search-hit[data-lesson="dl-basics/numpy-basics"]').first
    other.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    assert re.search(r"runs in the “scipy” environment", dialog.inner_text())
    page.locator(".jp-Dialog-button.jp-mod-reject").click()


def test_the_search_page_lists_hits_that_open_the_lesson(hub, learner, browser_context):
    with_session_cookies(browser_context, learner, hub.url)
    page = browser_context.new_page()
    page.goto(f"{hub.url}/services/lms/search")
    page.locator("#lms-search-q").fill("broadcasting")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#lms-search-results")
    results.wait_for()
    first = results.locator("li").first
    assert first.get_attribute("data-lesson") == "dl-basics/numpy-basics"
    link = first.locator("a")
    assert link.inner_text() == "NumPy basics"
    assert link.get_attribute("href") == "/hub/lms/open/dl-basics/numpy-basics"
    assert first.locator("mark").inner_text() == "Broadcasting"

    # the same page in Korean, through the language switch
    page.locator('#lms-language a[lang="ko"]').click()
    page.get_by_role("heading", name="코스 검색").wait_for()
    assert re.search(r"“broadcasting” 검색 결과 \d+건", page.locator("#lms-search-count").inner_text())
    assert page.locator("#lms-search-q").input_value() == "broadcasting"

    # an empty search is refused with the field marked
    page.locator("#lms-search-q").fill("")
    page.get_by_role("button", name="검색").click()
    page.locator('[data-field="q"]').wait_for()
    assert "검색어를 1~200자로 입력하세요." in page.locator('[data-field="q"]').inner_text()
