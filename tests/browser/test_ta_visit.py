"""A teaching assistant opens a learner's lesson in Chromium (the hub's OAuth, with its
confirmation); the learner's JupyterLab then names the TA in a notice, from the hub's record."""

from __future__ import annotations

from ..spawn.accounts import login, open_lesson
from .conftest import with_session_cookies

LEARNER = "vera"
TA = "teo"
NOTEBOOK = "lab/tree/dl-basics/01-python/python-basics.ipynb"


def test_the_learner_sees_who_opened_their_server(hub, browser, browser_context):
    learner = login(hub.url, LEARNER)
    r = open_lesson(hub.url, learner, LEARNER, "dl-basics/python-basics")
    assert r.status_code == 200, r.text[-1000:]
    ta = login(hub.url, TA)
    for group, user in (("c1", LEARNER), ("c1-instructors", TA)):
        assert hub.api("POST", f"/groups/{group}").status_code in (201, 409)
        assert hub.api("POST", f"/groups/{group}/users", json={"users": [user]}).ok
    assert hub.api("POST", "/lms/cohort-roles").ok

    # the TA, in their own browser
    with_session_cookies(browser_context, ta, hub.url)
    page = browser_context.new_page()
    page.goto(f"{hub.url}/user/{LEARNER}/{NOTEBOOK}")
    page.get_by_role("button", name="Authorize").click()  # someone else's server: confirm
    page.locator("#lms-course-sidebar").wait_for(state="visible", timeout=60_000)
    assert f"/user/{LEARNER}/" in page.url

    # the learner, in theirs
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    try:
        with_session_cookies(context, learner, hub.url)
        mine = context.new_page()
        mine.goto(f"{hub.url}/user/{LEARNER}/{NOTEBOOK}")
        notice = mine.get_by_text(f"{TA} opened your server at", exact=False)
        notice.first.wait_for(timeout=60_000)
        assert "min" in notice.first.inner_text()
    finally:
        context.close()
    hub.stop_server(LEARNER)
