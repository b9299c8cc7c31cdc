"""A lean first start, in real lesson containers and real Chromium: the lesson notebook's kernel
runs as soon as the server is up, before JupyterLab asks for it, and JupyterLab opens the
notebook on that kernel; switched off (LMS_PRESTART_KERNEL=0) no kernel runs until JupyterLab
opens the notebook; a restart with the learner's home present runs no git fetch on its way, so
a learner repo that never answers holds nothing up; JupyterLab in a lesson image asks for no
build check, language servers or announcements, and the panels it activates after the lesson
(table of contents, debugger) still come."""

from __future__ import annotations

import socket
import threading
import time

import requests

from ..conftest import docker
from ..spawn.accounts import login
from .conftest import with_session_cookies
from .test_course_in_lab import wait_for_kernel_idle

LESSON = "dl-basics/python-basics"
NOTEBOOK = "dl-basics/01-python/python-basics.ipynb"


def server_api(hub, user: str, path: str):
    r = hub.server_request("GET", user, f"api/{path}")
    assert r.status_code == 200, r.text
    return r.json()


def sessions_soon(hub, user: str, seconds: float) -> list[dict]:
    """The server's sessions once there is one, or [] after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        found = server_api(hub, user, "sessions")
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def start(hub, user: str) -> None:
    r = hub.start_lesson(user, LESSON)
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(user)


def open_in_chromium(hub, browser_context, session, user: str):
    with_session_cookies(browser_context, session, hub.url)
    page = browser_context.new_page()
    page.goto(f"{hub.url}/user/{user}/lab/tree/{NOTEBOOK}")
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.wait_for(
        timeout=90_000)
    wait_for_kernel_idle(page)
    return page


class SilentRemote:
    """A git remote that takes connections on the lesson network's gateway and never answers
    (a learner repo on a hung server); notes when each connection came."""

    def __init__(self, host: str):
        self.sock = socket.create_server((host, 0))
        self.url = f"http://{host}:{self.sock.getsockname()[1]}/learner/dl-basics.git"
        self.connections: list[float] = []
        self._held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(time.monotonic())
            self._held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


def test_the_kernel_runs_before_jupyterlab_asks_and_jupyterlab_opens_the_notebook_on_it(
        hub, browser_context):
    user = "leanlearner"
    session = login(hub.url, user)
    start(hub, user)
    # no browser yet: the server started the lesson notebook's kernel by itself
    found = sessions_soon(hub, user, 10)
    assert [(s["path"], s["type"]) for s in found] == [(NOTEBOOK, "notebook")], found
    kernel = found[0]["kernel"]["id"]

    page = open_in_chromium(hub, browser_context, session, user)
    # JupyterLab took that kernel: no second one, and a cell runs on it
    assert [k["id"] for k in server_api(hub, user, "kernels")] == [kernel]
    assert [s["kernel"]["id"] for s in server_api(hub, user, "sessions")] == [kernel]
    cell = page.locator(".jp-CodeCell").first
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    cell.locator(".jp-InputArea-prompt", has_text="[1]:").wait_for(timeout=60_000)
    hub.stop_server(user)


# what the lesson images' page configuration (images/base/page_config.json) leaves out
NOT_ASKED = ("/lab/api/build", "/lsp/status", "jupyterlabapputilsextensionannouncements",
             "/lab/api/extensions", "/lab/api/plugins")


def test_jupyterlab_leaves_out_what_a_lesson_does_not_use_and_still_brings_its_panels(
        hub, browser_context):
    user = "leanpage"
    session = login(hub.url, user)
    start(hub, user)
    asked: list[str] = []
    browser_context.on("request", lambda request: asked.append(request.url))
    errors: list[str] = []
    browser_context.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page = open_in_chromium(hub, browser_context, session, user)
    assert [url for url in asked if any(part in url for part in NOT_ASKED)] == []
    # what is left out is left out whole: no plugin fails for want of it
    assert [e for e in errors if "activat" in e] == [], errors
    assert any(f"/user/{user}/api/sessions" in url for url in asked), asked  # recording works
    # activated once the notebook is restored: the table of contents and the debugger
    page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="table-of-contents"]').wait_for(
        timeout=30_000)
    page.locator('.jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id="jp-debugger-sidebar"]') \
        .wait_for(timeout=30_000)
    page.close()
    hub.stop_server(user)


def test_a_restart_with_the_home_present_does_not_wait_on_git(hub, browser_context):
    user = "restartlearner"
    session = login(hub.url, user)
    start(hub, user)  # the first start clones the course into the home
    hub.stop_server(user)
    # the learner's clone now follows a learner repo that takes connections and never answers
    remote = SilentRemote(hub.hub_side_ip())
    try:
        docker("run", "--rm", "--network", "none", "--user", "1000",
               "-v", f"lms-test-{hub.run_id}-home-{user}:/home/jovyan", "--entrypoint", "git",
               "lms/base:latest", "-C", "/home/jovyan/dl-basics", "remote", "set-url", "origin",
               remote.url)
        started = time.monotonic()
        start(hub, user)
        up = time.monotonic() - started
        context = hub.server_request("GET", user, "lms/api/context").json()
        assert context["error"] == "" and context["materialized"]["version"], context
        assert sessions_soon(hub, user, 10), "no kernel started for the lesson notebook"
        r = hub.server_request("GET", user, f"api/contents/{NOTEBOOK}")
        assert r.status_code == 200 and r.json()["type"] == "notebook"
        assert remote.connections == [], "git reached for the learner repo while starting"
        assert up < 60, up
        open_in_chromium(hub, browser_context, session, user)

        # the remote is wired: looking for new content does reach it (and waits on it)
        asked = time.monotonic()
        try:
            requests.get(f"{hub.user_url(user)}/user/{user}/lms/api/update", timeout=3,
                         headers={"Authorization": f"token {hub.token}"})
        except requests.Timeout:
            pass
        deadline = time.monotonic() + 10
        while not [t for t in remote.connections if t >= asked] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [t for t in remote.connections if t >= asked], \
            "looking for new content never reached the learner repo"
    finally:
        remote.close()
        hub.stop_server(user)


def test_switched_off_no_kernel_runs_until_jupyterlab_opens_the_notebook(hub, browser_context):
    hub.env["LMS_PRESTART_KERNEL"] = "0"
    hub.restart()
    try:
        user = "offlearner"
        session = login(hub.url, user)
        start(hub, user)
        assert hub.server_request("GET", user, f"api/contents/{NOTEBOOK}").status_code == 200
        assert sessions_soon(hub, user, 5) == []
        assert server_api(hub, user, "kernels") == []
        open_in_chromium(hub, browser_context, session, user)
        assert [s["path"] for s in server_api(hub, user, "sessions")] == [NOTEBOOK]
        hub.stop_server(user)
    finally:
        del hub.env["LMS_PRESTART_KERNEL"]
