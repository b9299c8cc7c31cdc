"""A new content version while a learner works: JupyterLab tells them what changed, and
*Update* merges it into their home without losing their edits."""

from __future__ import annotations

import subprocess
import time

import nbformat
import pytest

from ..spawn.accounts import login, open_lesson
from .conftest import with_session_cookies

USER = "updatelearner"
NOTEBOOK = "dl-basics/01-python/python-basics.ipynb"
HUB_ENV = {"LMS_CONTENT_REFRESH_INTERVAL": "1"}


@pytest.fixture(scope="module")
def content_remote(content_remote, tmp_path_factory):
    """A remote of this module's own, which the test publishes a new version to."""
    remote = tmp_path_factory.mktemp("update-remote") / "content.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(content_remote), str(remote)],
                   check=True)
    return remote


def publish_new_version(remote) -> None:
    work = remote.parent / "work"
    subprocess.run(["git", "clone", "--quiet", str(remote), str(work)], check=True)
    path = work / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    nb.cells[-1].source = "# a clearer last exercise, from the course team\nnormalised"
    nbformat.write(nb, path)
    (work / "dl-basics" / "01-python" / "cheatsheet.md").write_text("# Python cheatsheet\n")
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "add", "--all"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "Clearer exercise, cheatsheet"], check=True)
    subprocess.run([*git, "push", "--quiet", "origin", "HEAD"], check=True)


def test_a_new_version_is_announced_and_merged_keeping_the_learners_edit(
        hub, content_remote, browser_context):
    session = login(hub.url, USER)
    assert open_lesson(hub.url, session, USER, "dl-basics/python-basics").status_code == 200
    # the learner edits the first code cell (through the contents API, as saving does)
    url = f"{hub.url}/user/{USER}/api/contents/{NOTEBOOK}"
    model = session.get(url, timeout=30).json()
    model["content"]["cells"][1]["source"] = "scores = [1, 2, 3]  # mine"
    xsrf = session.cookies.get("_xsrf", path=f"/user/{USER}/") or ""
    r = session.put(url, json={"type": "notebook", "content": model["content"]}, timeout=30,
                    headers={"X-XSRFToken": xsrf})
    assert r.status_code == 200, r.text

    publish_new_version(content_remote)
    repo = hub.state_dir / "content" / "learner" / "dl-basics.git"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log = subprocess.run(["git", "--git-dir", str(repo), "log", "--oneline", "main"],
                             capture_output=True, text=True).stdout.splitlines()
        if len(log) >= 2:
            break
        time.sleep(0.5)
    assert len(log) >= 2, "the hub did not publish the new version to the learner repo"

    with_session_cookies(browser_context, session, hub.url)
    page = browser_context.new_page()
    pending: dict = {}
    page.on("request", lambda req: pending.__setitem__(id(req), req))
    page.on("requestfinished", lambda req: pending.pop(id(req), None))
    page.on("requestfailed", lambda req: pending.pop(id(req), None))
    page.goto(f"{hub.url}/user/{USER}/lab/tree/{NOTEBOOK}")
    notice = page.get_by_text("New course content", exact=False)
    notice.wait_for(timeout=60_000)
    text = notice.inner_text()
    assert "01-python/cheatsheet.md" in text and "01-python/python-basics.ipynb" in text
    page.get_by_role("button", name="Update", exact=True).click()
    try:
        page.get_by_text("Course content updated to version", exact=False).wait_for(timeout=60_000)
    except Exception:
        # what the update waited on: the browser's unanswered requests, the server's processes
        print("requests without an answer:", *(f"{r.method} {r.url}" for r in pending.values()),
              sep="\n  ")
        for name in subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True,
                                   text=True).stdout.split():
            if USER in name:
                procs = "for p in /proc/[0-9]*; do echo $p $(tr '\\0' ' ' < $p/cmdline); done"
                print(subprocess.run(["docker", "exec", name, "sh", "-c", procs],
                                     capture_output=True, text=True).stdout)
        raise

    page.get_by_text("was changed by you and by the course", exact=False).wait_for()
    merged = session.get(url, timeout=30).json()["content"]["cells"]
    assert merged[1]["source"] == "scores = [1, 2, 3]  # mine"
    assert merged[-1]["source"].startswith("# a clearer last exercise")
    cheat = session.get(f"{hub.url}/user/{USER}/api/contents/dl-basics/01-python/cheatsheet.md",
                        timeout=30)
    assert cheat.status_code == 200
    hub.stop_server(USER)
