"""Editors preview a branch of the content repo on the hub: the branch's lesson opens in their
preview server, marked as a preview, while the live content, the learners' homes and everyone's
progress stay as they were."""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from lms_extension.content.git import Git

from ..hubctl import ROOT
from .accounts import login
from .test_api_spawn import container

EDITOR, LEARNER = "edna", "lars"
BRANCH, BAD_BRANCH = "preview-new-lesson", "preview-broken"
LESSON = "preview-course/branch-lesson"
COURSE_YAML = """\
slug: preview-course
title: {en: Preview course, ko: 미리 보기 코스}
environments:
  py: {image: "lms/base:latest"}
default_environment: py
lessons:
  - slug: branch-lesson
    title: {en: Only on a branch, ko: 브랜치에만 있는 레슨}
    notebooks: [branch-lesson.ipynb]
"""
AUTHOR = ["-c", "user.name=Editor", "-c", "user.email=editor@localhost"]


def push_branch(remote: Path, branch: str, course_yaml: str, notebook: bool = True) -> str:
    """Push a commit that adds ``preview-course`` to the remote's default branch, as ``branch``;
    return its commit."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        Git(tmp)("clone", "--quiet", str(remote), str(work))
        course = work / "preview-course"
        course.mkdir()
        (course / "course.yaml").write_text(course_yaml)
        if notebook:
            shutil.copy(ROOT / "content_repo/dl-basics/01-python/python-basics.ipynb",
                        course / "branch-lesson.ipynb")
        git = Git(work)
        git("add", "--all")
        git(*AUTHOR, "commit", "--quiet", "-m", f"Add a lesson on {branch}")
        git("push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{branch}")
        return git("rev-parse", "HEAD")


def preview_body(ref: str, lesson: str = LESSON) -> dict:
    return {"lesson": lesson, "preview": ref}


@pytest.fixture(scope="module")
def branches(content_remote):
    good = push_branch(content_remote, BRANCH, COURSE_YAML)
    bad = push_branch(content_remote, BAD_BRANCH, COURSE_YAML, notebook=False)
    return {"good": good, "bad": bad}


@pytest.fixture(scope="module")
def editors(hub):
    for name in (EDITOR, LEARNER):
        hub.create_user(name)
    r = hub.api("POST", "/groups/editors")
    assert r.status_code in (201, 409), r.text
    r = hub.api("POST", "/groups/editors/users", json={"users": [EDITOR]})
    assert r.status_code == 200, r.text
    yield
    for name in (EDITOR, LEARNER):
        servers = hub.api("GET", f"/users/{name}").json().get("servers", {})
        for server in servers:
            hub.stop_server(name, server)


@pytest.fixture(scope="module")
def preview(hub, run_id, branches, editors):
    """The editor's preview server, started on the branch through the REST API."""
    r = hub.start_lesson(EDITOR, LESSON, server="preview", body=preview_body(BRANCH))
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(EDITOR, "preview")
    return container(run_id, EDITOR, "preview")


def live_version(hub) -> str:
    content = hub.api("POST", "/lms/content/sync").json()
    assert content["refused"] == [], content
    return content["version"]


def test_a_learner_cannot_preview(hub, branches, editors):
    r = hub.start_lesson(LEARNER, LESSON, server="preview", body=preview_body(BRANCH))
    assert r.status_code == 403, r.text
    assert "editors" in r.json()["message"]
    session = login(hub.url, LEARNER)
    page = session.get(f"{hub.url}/hub/lms/preview?ref={BRANCH}", timeout=30)
    assert page.status_code == 403
    assert "preview-course" not in page.text


@pytest.mark.parametrize("ref", ["../main", "--upload-pack=touch /tmp/x", "refs/heads/a..b",
                                 "main.lock", "refs/tags/v1", "new lesson", "refs/heads/.x"])
def test_a_bad_ref_name_is_refused_clearly(hub, editors, ref):
    r = hub.start_lesson(EDITOR, LESSON, server="preview", body=preview_body(ref))
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith("preview: ")


def test_a_ref_the_repo_lacks_is_refused(hub, editors):
    r = hub.start_lesson(EDITOR, LESSON, server="preview", body=preview_body("no-such-branch"))
    assert r.status_code == 400, r.text
    assert "has no ref 'refs/heads/no-such-branch'" in r.json()["message"]


def test_a_branch_that_fails_validation_gets_the_validators_lines(hub, branches, editors):
    r = hub.start_lesson(EDITOR, LESSON, server="preview", body=preview_body(BAD_BRANCH))
    assert r.status_code == 400, r.text
    message = r.json()["message"]
    assert f"preview: refs/heads/{BAD_BRANCH} fails validation:" in message
    line = f"{branches['bad'][:12]}:preview-course/course.yaml:"
    assert line in message and "branch-lesson.ipynb" in message, message


def test_the_preview_page_lists_the_branchs_lessons(hub, branches, editors):
    session = login(hub.url, EDITOR)
    page = session.get(f"{hub.url}/hub/lms/preview?ref={BRANCH}", timeout=60)
    assert page.status_code == 200, page.text[-2000:]
    assert f"Preview of refs/heads/{BRANCH}" in page.text
    assert f"/hub/lms/preview/open?ref={BRANCH}&amp;lesson=preview-course%2Fbranch-lesson" \
        in page.text
    korean = session.get(f"{hub.url}/hub/lms/preview?ref={BRANCH}", timeout=60,
                         headers={"Accept-Language": "ko"})
    assert "브랜치 미리 보기" in korean.text and "브랜치에만 있는 레슨" in korean.text
    bad = session.get(f"{hub.url}/hub/lms/preview?ref={BAD_BRANCH}", timeout=60)
    assert bad.status_code == 400
    assert f"{branches['bad'][:12]}:preview-course/course.yaml:" in bad.text
    r = session.get(f"{hub.url}/hub/lms/preview/open?ref=..%2Fmain&lesson={LESSON}",
                    timeout=60, allow_redirects=False)
    assert r.status_code == 400


def test_an_editor_previews_a_lesson_that_exists_only_on_a_branch(hub, content_remote, branches,
                                                                  preview):
    env = dict(v.split("=", 1) for v in preview["Config"]["Env"])
    assert env["LMS_PREVIEW"] == f"refs/heads/{BRANCH}@{branches['good']}"
    assert "LMS_SERVICE_URL" not in env  # nothing to forward events to
    # the branch's notebook is in the preview server's home
    r = hub.server_request("GET", EDITOR, "api/contents/preview-course/branch-lesson.ipynb",
                           server="preview")
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "notebook"
    # marked as a preview in the server's context
    context = hub.server_request("GET", EDITOR, "lms/api/context", server="preview").json()
    assert context["preview"] == f"refs/heads/{BRANCH}@{branches['good']}"
    assert context["materialized"]["version"] == branches["good"]
    # never the editor's home volume: the preview's home lives with its container
    assert not [m for m in preview["Mounts"] if m.get("Name", "").endswith(f"-home-{EDITOR}")]
    # the live content is unchanged: the default branch, without the branch's lesson
    r = hub.start_lesson(EDITOR, LESSON, server="live")
    assert r.status_code == 400 and "preview-course" in r.json()["message"], r.text
    main = Git(git_dir=content_remote)("rev-parse", "refs/heads/main")
    assert live_version(hub) == main


def test_events_from_the_preview_change_no_progress(hub, preview):
    now = datetime.now(UTC).isoformat()
    events = [{"id": str(uuid.uuid4()), "kind": "lesson_opened", "course": course,
               "lesson": lesson, "at": now, "active_seconds": 30}
              for course, lesson in (("preview-course", "branch-lesson"),
                                     ("dl-basics", "python-basics"))]
    r = hub.server_request("POST", EDITOR, "lms/api/events", server="preview",
                           json={"events": events})
    assert r.status_code == 200 and len(r.json()["taken"]) == 2, r.text
    # a hand-made forward with the preview server's own token: the branch's lesson is not a
    # published one, so the service refuses it
    env = dict(v.split("=", 1) for v in preview["Config"]["Env"])
    token = env["JUPYTERHUB_API_TOKEN"]
    r = requests.post(f"{hub.service_url('lms')}/api/events", timeout=30,
                      headers={"Authorization": f"token {token}"},
                      json={"events": [{**events[0], "id": str(uuid.uuid4())}]})
    assert r.status_code == 200, r.text
    assert r.json()["taken"] == [] and r.json()["refused"][0]["field"] == "events.0.lesson"
    time.sleep(8)  # longer than a forwarder's interval
    status = hub.server_request("GET", EDITOR, "lms/api/events", server="preview").json()
    assert status["queued"] == 2  # kept in the preview's own queue, sent nowhere
    progress = requests.get(f"{hub.service_url('lms')}/api/progress/{EDITOR}", timeout=30,
                            headers={"Authorization": f"token {hub.token}"}).json()
    rows = [row for rows in progress.get("courses", {}).values() for row in rows]
    assert [row for row in rows if row["status"] != "not_started"] == [], rows
