"""An editor opens a lesson of an unpublished branch in real Chromium, from the hub's preview
page to JupyterLab in the preview server, which says at the top that it is a preview."""

from __future__ import annotations

import re

import pytest

from ..spawn.accounts import login
from ..spawn.test_preview import BRANCH, COURSE_YAML, push_branch
from .conftest import with_session_cookies

EDITOR = "browsereditor"


@pytest.fixture(scope="module")
def editor(hub, content_remote):
    commit = push_branch(content_remote, BRANCH, COURSE_YAML)
    session = login(hub.url, EDITOR)
    assert hub.api("POST", "/groups/editors").status_code in (201, 409)
    assert hub.api("POST", "/groups/editors/users", json={"users": [EDITOR]}).ok
    yield session, commit
    for server in list(hub.api("GET", f"/users/{EDITOR}").json()["servers"]):
        hub.stop_server(EDITOR, server)


def test_an_editor_opens_a_branch_lesson_marked_as_a_preview(hub, editor, browser_context):
    session, commit = editor
    with_session_cookies(browser_context, session, hub.url)
    page = browser_context.new_page()
    page.goto(f"{hub.url}/hub/lms/preview?ref={BRANCH}")
    link = page.locator('a[data-lesson="preview-course/branch-lesson"]')
    assert link.inner_text() == "Only on a branch"
    link.click()

    # the spawn page follows the start, then JupyterLab opens the branch's notebook
    page.wait_for_url(re.compile(r"/user/browsereditor/preview/lab"), timeout=180_000)
    banner = page.locator("#lms-preview-banner")
    banner.wait_for(timeout=90_000)
    assert banner.inner_text() == (f"Preview of refs/heads/{BRANCH} (commit {commit[:12]}): "
                                   "not published, progress is not recorded.")
    page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(timeout=60_000)
    assert "branch-lesson.ipynb" in page.url
