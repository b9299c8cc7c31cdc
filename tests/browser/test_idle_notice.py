"""The notice before an idle lesson server is stopped: JupyterLab in a tab the learner left
warns ahead of the idle culler, and *Keep working* tells the hub at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from ..spawn.accounts import login, open_lesson
from .conftest import with_session_cookies

USER = "idlelearner"
# servers idle 40 s are stopped; the culler itself looks only once an hour here, so the test
# sees the warning and the learner's answer without the server going away meanwhile
HUB_ENV = {"LMS_IDLE_TIMEOUT": "40", "LMS_IDLE_CULL_EVERY": "3600"}

HIDE_TAB = """() => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def hub_activity(hub) -> datetime:
    server = hub.api("GET", f"/users/{USER}").json()["servers"][""]
    return datetime.fromisoformat(server["last_activity"].replace("Z", "+00:00"))


def test_an_idle_server_warns_and_keep_working_reaches_the_hub(hub, browser_context):
    session = login(hub.url, USER)
    r = open_lesson(hub.url, session, USER, "dl-basics/python-basics")
    assert r.status_code == 200, r.text[-1000:]
    ctx = session.get(f"{hub.url}/user/{USER}/lms/api/context", timeout=30).json()
    assert ctx["idle_timeout"] == 40

    with_session_cookies(browser_context, session, hub.url)
    page = browser_context.new_page()
    page.goto(f"{hub.url}/user/{USER}/lab/tree/dl-basics/01-python/python-basics.ipynb")
    page.locator("#lms-course-sidebar").wait_for(state="visible", timeout=60_000)
    # the learner leaves the tab: JupyterLab stops polling, the server goes idle
    page.evaluate(HIDE_TAB)
    warning = page.get_by_text("will be stopped in about", exact=False)
    warning.wait_for(timeout=60_000)
    before = hub_activity(hub)

    page.get_by_role("button", name="Keep working").click()
    deadline = time.monotonic() + 10
    while hub_activity(hub) <= before and time.monotonic() < deadline:
        time.sleep(0.5)
    after = hub_activity(hub)
    assert after > before and (datetime.now(UTC) - after).total_seconds() < 10
    warning.first.wait_for(state="hidden", timeout=20_000)  # active again: no warning
    hub.stop_server(USER)
