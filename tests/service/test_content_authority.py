"""One content authority: a real hub, its LMS service and a real git remote agree on the live
content version. A lesson the hub has published is known to the service at once (its own sync
timer is an hour here); a bad commit (an escaping symlink, deep nesting, a huge due offset) is
refused by both followers with the validator's lines, shown to admins, and both keep the
previous version and take the next good commit; a fresh hub whose first commit is bad answers
spawns with 503 without fetching per spawn; a version the service finds first reaches the hub."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from ..hubctl import ROOT, Hub
from .conftest import Lms

AUTHOR = ["-c", "user.name=Course editor", "-c", "user.email=editor@localhost"]
NEW_LESSON = """\
  - slug: authority-check
    title: Published a moment ago
    notebooks: [01-python/authority-check.ipynb]
    environment: python
"""


def git(*args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout.strip()


class Remote:
    """A bare git remote of the demo course and a work tree that commits to it."""

    def __init__(self, folder: Path):
        self.bare = folder / "content.git"
        self.work = folder / "work"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(self.bare))
        shutil.copytree(ROOT / "content_repo", self.work)
        git("init", "--quiet", "--initial-branch=main", cwd=self.work)
        git("remote", "add", "origin", str(self.bare), cwd=self.work)

    def commit(self, message: str, change=None, base: str | None = None) -> str:
        """Commit the tree of ``base`` (default: the last commit) changed by ``change``."""
        if base is not None:
            git("read-tree", "-u", "--reset", base, cwd=self.work)
        if change is not None:
            change(self.work / "dl-basics")
        git("add", "--all", cwd=self.work)
        git(*AUTHOR, "commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "--quiet", "--force", "origin", "HEAD:refs/heads/main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


def edit(course: Path, old: str, new: str) -> None:
    manifest = course / "course.yaml"
    text = manifest.read_text()
    assert old in text, old
    manifest.write_text(text.replace(old, new, 1))


def escaping_symlink(course: Path) -> None:
    (course / "01-python" / "data.csv").symlink_to("../../../../etc/passwd")


def deep_nesting(course: Path) -> None:
    edit(course, "slug: dl-basics\n",
         "slug: dl-basics\nextra: " + "[" * 30 + "]" * 30 + "\n")


def huge_offset(course: Path) -> None:
    edit(course, "due: 7d", "due: 99999999d")


# where the demo course's manifest has the lines the bad commits change
MANIFEST = (ROOT / "content_repo" / "dl-basics" / "course.yaml").read_text().splitlines()
SLUG_LINE = MANIFEST.index("slug: dl-basics") + 1
DUE_LINE = next(n for n, line in enumerate(MANIFEST, 1) if line.strip() == "due: 7d")
BAD = {
    "escaping symlink": (escaping_symlink, "dl-basics/01-python/data.csv:1: symlink: points to "
                         "'../../../../etc/passwd', outside the content repo"),
    "deep nesting": (deep_nesting, f"dl-basics/course.yaml:{SLUG_LINE + 1}: extra" + ".0" * 19 +
                     ": nested deeper than 20 levels"),
    "huge offset": (huge_offset, f"dl-basics/course.yaml:{DUE_LINE}: lessons.0.due: Value error, "
                    "'99999999d' is more than 3650 days"),
}


def start_hub(folder: Path, remote: Remote, run_id: str, refresh: float):
    """A hub that checks the repo every ``refresh`` seconds, and its service once an hour."""
    hub = Hub(folder, str(remote.bare), run_id, {
        "LMS_ADMIN_USERS": "adam", "LMS_CONTENT_REFRESH_INTERVAL": str(refresh),
        "LMS_CONTENT_SYNC_INTERVAL": "3600",
    })
    hub.start()
    lms = Lms(hub)
    r = hub.api("POST", "/users/adam/tokens", json={"note": "content authority tests"})
    assert r.status_code == 201, r.text
    lms.tokens["adam"] = r.json()["token"]
    return hub, lms


def wait_for(what: str, check, hub: Hub, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except (requests.ConnectionError, ValueError, KeyError):
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen in {timeout}s:\n{hub.log_tail(60)}")


def hub_content(hub: Hub, lms: Lms, user: str = "adam") -> requests.Response:
    return hub.api("GET", "/lms/content", token=lms.token(user))


def service_content(lms: Lms) -> dict:
    return lms.call("GET", "/content", "admin").json()


def opened(lesson: str) -> dict:
    return {"id": str(uuid.uuid4()), "kind": "lesson_opened", "course": "dl-basics",
            "lesson": lesson, "at": datetime.now(UTC).isoformat()}


def taken(lms: Lms, user: str, lesson: str) -> dict:
    r = lms.events(user, opened(lesson))
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def following(docker_engine, tmp_path_factory, run_id):
    """A hub that checks the repo every 2 s; the service's own timer is an hour."""
    remote = Remote(tmp_path_factory.mktemp("authority-remote"))
    first = remote.commit("first version")
    hub, lms = start_hub(tmp_path_factory.mktemp("authority-hub"), remote, f"{run_id}-auth", 2)
    wait_for("the first version going live", lambda: service_content(lms)["version"] == first,
             hub)
    yield hub, lms, remote, first
    hub.stop()


def test_a_lesson_the_hub_published_is_known_to_the_service_at_once(following):
    hub, lms, remote, first = following
    def add_lesson(course: Path) -> None:
        shutil.copy(course / "01-python" / "python-basics.ipynb",
                    course / "01-python" / "authority-check.ipynb")
        edit(course, "lessons:\n", "lessons:\n" + NEW_LESSON)

    new = remote.commit("a new lesson", add_lesson)
    lms.token("lena")

    def spawned():  # 400 (no such lesson) until the hub has published the commit
        r = hub.start_lesson("lena", "dl-basics/authority-check")
        assert r.status_code in (201, 202, 400), r.text
        return r.status_code != 400

    wait_for("the hub publishing the new lesson", spawned, hub, timeout=30)
    # the hub told the service before its spawn could start the lesson: nothing else made the
    # service sync (its timer is an hour, and no event named the lesson yet)
    assert service_content(lms) == {"version": new, "refused": []}
    result = taken(lms, "lena", "authority-check")
    assert result["refused"] == [] and result["accepted"] == 1, result
    status = hub_content(hub, lms).json()
    assert status["version"] == new and status["refused"] == [], status
    assert status["lms"] == {"told": new, "version": new, "error": None}, status
    hub.wait_ready("lena")
    hub.stop_server("lena")


def test_bad_commits_are_refused_by_both_and_the_next_good_one_goes_live(following):
    hub, lms, remote, first = following
    live = service_content(lms)["version"]
    for name, (change, line) in BAD.items():
        bad = remote.commit(name, change, base=first)
        expected = f"{bad[:12]}:{line}"

        def refused_by_hub():
            status = hub_content(hub, lms).json()
            return status if any(x.startswith(expected) for x in status["refused"]) else None

        status = wait_for(f"the hub refusing the {name}", refused_by_hub, hub, timeout=30)
        assert status["version"] == live, (name, status)
        r = lms.call("POST", "/content/sync", "admin")
        assert r.status_code == 200, r.text
        assert r.json()["version"] == live, (name, r.json())
        assert any(x.startswith(expected) for x in r.json()["refused"]), (name, r.json())
        assert service_content(lms)["refused"] == r.json()["refused"]
        # both keep serving the previous version
        assert taken(lms, "lena", "python-basics")["refused"] == []
        assert not re.search(r"Traceback|RecursionError|OverflowError", hub.log_tail(400)), name
    # a learner sees none of it on the hub
    assert hub_content(hub, lms, "lena").status_code == 403
    fixed = remote.commit("the title, better", lambda c: edit(
        c, "en: Deep learning basics", "en: Deep learning, the basics"), base=first)
    wait_for("the hub taking the next good commit",
             lambda: hub_content(hub, lms).json()["version"] == fixed, hub, timeout=30)
    assert service_content(lms) == {"version": fixed, "refused": []}
    catalog = lms.call("GET", "/catalog", "admin").json()
    assert catalog["courses"][0]["title"] == "Deep learning, the basics"
    r = lms.call("POST", "/deadlines/run", "admin")
    assert r.status_code == 200, r.text


def test_due_dates_past_the_calendar_keep_deadlines_and_progress_working(following):
    """A cohort starting in December 9999 (with a deadline extension) puts due dates past what
    a datetime holds: they read as no due date, or the last date there is, never as an
    error."""
    _, lms, _, _ = following
    lms.group("far-future", "lena")
    r = lms.call("PUT", "/cohorts/far-future", "admin",
                 json={"course": "dl-basics", "start": "9999-12-01T00:00:00Z"})
    assert r.status_code == 200, r.text
    r = lms.call("PUT", "/cohorts/far-future/extensions/lena", "admin", json={"days": 365})
    assert r.status_code == 200, r.text
    assert lms.call("POST", "/deadlines/run", "admin").status_code == 200
    r = lms.call("GET", "/progress/lena", "lena")
    assert r.status_code == 200, r.text
    due = {row["lesson"]: row["due"] for row in r.json()["courses"]["dl-basics"]}
    assert due["python-basics"] == "9999-12-31T23:59:59.999999+00:00", due  # 7d + 365 days
    assert due["pytorch-mlp"] is None, due  # 35 days after the start is past the calendar
    assert lms.call("GET", "/courses/dl-basics/progress", "admin").status_code == 200
    assert lms.call("DELETE", "/cohorts/far-future", "admin").status_code == 204


@pytest.fixture(scope="module")
def fresh(docker_engine, tmp_path_factory, run_id):
    """A hub whose content repo's first commit is bad; it checks the repo once an hour."""
    remote = Remote(tmp_path_factory.mktemp("fresh-remote"))
    bad = remote.commit("a link out of the repo", escaping_symlink)
    hub, lms = start_hub(tmp_path_factory.mktemp("fresh-hub"), remote, f"{run_id}-fresh", 3600)
    yield hub, lms, remote, bad
    hub.stop()


def test_a_fresh_hub_with_a_bad_first_commit_answers_503_and_recovers(fresh):
    hub, lms, remote, bad = fresh
    expected = f"{bad[:12]}:{BAD['escaping symlink'][1]}"
    lms.token("nina")
    for _ in range(3):
        r = hub.start_lesson("nina", "dl-basics/python-basics")
        assert r.status_code == 503, r.text
        assert expected in r.json()["message"], r.text
    # one sync for the three spawns, not one each
    assert hub.log_tail(400).count("refused (live version: none):") == 1, hub.log_tail(80)
    status = hub_content(hub, lms).json()
    assert status["version"] is None and status["refused"][0].startswith(expected), status
    wait_for("the service refusing the first commit",
             lambda: any(x.startswith(expected) for x in service_content(lms)["refused"]), hub)
    assert service_content(lms)["version"] is None

    # a good commit the service learns of first (an event names a lesson it does not know);
    # it then asks the hub to sync, and the lesson can be spawned
    good = remote.commit("no link", lambda c: (c / "01-python" / "data.csv").unlink())
    assert taken(lms, "nina", "python-basics")["refused"] == []
    assert service_content(lms) == {"version": good, "refused": []}
    wait_for("the hub taking the version the service found",
             lambda: hub_content(hub, lms).json()["version"] == good, hub, timeout=30)
    r = hub.start_lesson("nina", "dl-basics/python-basics")
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("nina")
    hub.stop_server("nina")
