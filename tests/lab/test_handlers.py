"""The server extension's API in a real Jupyter Server: auth on every route, the event queue,
the outline without a service, access notices."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

import pytest
from tornado.httpclient import HTTPClientError

from lms_extension.content.wire import EventIn
from lms_extension.server.handlers import max_length

NAMES = ("context", "events", "outline", "access", "update", "surveys/x/x", "servers",
         "servers/x/progress", "activity", "search", "checks/x/x")


def lms_routes(app):
    """Every route the extension added (walking the server's own routers)."""
    found, todo = [], [app.web_app.default_router]
    while todo:
        for rule in todo.pop().rules:
            if hasattr(rule.target, "rules"):
                todo.append(rule.target)
            pattern = getattr(rule.matcher, "regex", None)
            if pattern is not None and "/lms/" in pattern.pattern:
                found.append(pattern.pattern.rstrip("$"))
    return found


async def test_every_route_rejects_requests_without_a_token(jp_serverapp, jp_fetch):
    routes = lms_routes(jp_serverapp)
    # a sample path for each route: its groups filled in
    names = sorted(re.sub(r"\([^)]*\)", "x", r.split("/lms/api/", 1)[1]) for r in routes)
    assert names == sorted(NAMES), routes
    for name in names:
        for method, body in (("GET", None), ("POST", "{}")):
            with pytest.raises(HTTPClientError) as err:
                await jp_fetch("lms", "api", *name.split("/"), method=method, body=body,
                               headers={"Authorization": ""})
            assert err.value.code in (401, 403, 405), (name, method, err.value.code)
            if method == "GET" and name not in ("servers", "activity"):  # POST only
                assert err.value.code in (401, 403), name


def event(**fields):
    return {"id": str(uuid.uuid4()), "kind": "lesson_opened", "course": "dl-basics",
            "lesson": "numpy-basics", "at": datetime.now(UTC).isoformat(), **fields}


async def test_events_are_judged_one_by_one_and_queued_durably(jp_fetch, lms_env):
    good = [event(), event(kind="cell_executed", cell_id="c1", ok=True)]
    bad = [event(colour="red"), event(notebook="x/" * 600 + "a.ipynb"), "not an event",
           event(kind="cell_executed")]
    batch = [good[0], bad[0], bad[1], good[1], bad[2], bad[3]]
    r = await jp_fetch("lms", "api", "events", method="POST", body=json.dumps({"events": batch}))
    result = json.loads(r.body)
    assert result["taken"] == [good[0]["id"], good[1]["id"]]
    assert (result["accepted"], result["duplicates"]) == (2, 0)
    refused = {r["index"]: r for r in result["refused"]}
    assert sorted(refused) == [1, 2, 4, 5]
    assert refused[1]["field"] == "events.1.colour" and refused[1]["id"] == bad[0]["id"]
    assert refused[2]["field"] == "events.2.notebook"
    assert str(max_length(EventIn, "notebook")) in refused[2]["reason"]
    assert refused[4]["field"] == "events.4" and refused[4]["id"] is None
    assert refused[5]["field"] == "events.5.cell_id"
    assert not any(r["retry"] for r in result["refused"])
    assert (lms_env / ".local/share/lms/events.sqlite").is_file()
    # the same batch again: the good ones are already queued
    again = json.loads((await jp_fetch("lms", "api", "events", method="POST",
                                       body=json.dumps({"events": good}))).body)
    assert (again["accepted"], again["duplicates"], again["taken"]) == (
        0, 2, [e["id"] for e in good])
    status = json.loads((await jp_fetch("lms", "api", "events")).body)
    assert (status["queued"], status["refused"]) == (2, 4)
    assert {r["field"] for r in status["refusals"]} == {
        "events.1.colour", "events.2.notebook", "events.4", "events.5.cell_id"}


@pytest.mark.parametrize("body, status, field", [
    ("not json", 400, "body"),
    ('{"events": []}', 400, "events"),
    ('{"events": {"a": 1}}', 400, "events"),
    ('{"events": [], "colour": 1}', 400, "events"),
    (json.dumps({"events": [{"id": "x"}] * 501}), 413, "events"),
    (json.dumps({"events": ["x" * 300_000]}), 413, "body"),
])
async def test_a_batch_that_is_not_a_batch_is_refused_whole(jp_fetch, body, status, field):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("lms", "api", "events", method="POST", body=body)
    assert err.value.code == status
    answer = json.loads(err.value.response.body)
    assert answer["field"] == field and answer["message"].startswith(f"{field}: ")
    assert (answer["limit"] is not None) == (status == 413)
    queue = json.loads((await jp_fetch("lms", "api", "events")).body)
    # one event over the size limit alone: JupyterLab drops it, so it is kept aside (and
    # reported to the LMS service); a batch of more is split by JupyterLab instead
    alone = (status, field) == (413, "body")
    assert queue["queued"] == 0 and queue["refused"] == (1 if alone else 0)
    assert queue["unreported"] == queue["refused"]  # no LMS_SERVICE_URL here


async def test_the_outline_says_why_it_is_empty_without_a_service(jp_fetch):
    outline = json.loads((await jp_fetch("lms", "api", "outline")).body)
    assert outline["stale"] is True and outline["courses"] == []
    assert "no LMS_SERVICE_URL" in outline["error"]
    assert outline["pending_events"] == 0
    # events waiting in the home's queue: the statuses may be behind, and the outline says so
    await jp_fetch("lms", "api", "events", method="POST",
                   body=json.dumps({"events": [event(), event()]}))
    outline = json.loads((await jp_fetch("lms", "api", "outline")).body)
    assert outline["pending_events"] == 2


async def test_visits_are_read_from_the_hub_never_kept_in_the_home(jp_fetch, lms_env):
    me = json.loads((await jp_fetch("api", "me")).body)["identity"]["username"]
    assert me != "owner"  # a visitor's request
    await jp_fetch("api", "contents")
    visits = json.loads((await jp_fetch("lms", "api", "access")).body)
    # no hub here: nothing to list, and nothing written where the visitor could change it
    assert visits == {"owner": "owner", "visits": []}
    assert not (lms_env / ".local/share/lms/access.jsonl").exists()


@pytest.fixture
def learner_repo(tmp_path, monkeypatch):
    """A learner repo of the demo course, named by LMS_LEARNER_REPO as LessonSpawner does."""
    import shutil
    from pathlib import Path

    from lms_extension.content.learner_repo import publish_course

    course = tmp_path / "course"
    shutil.copytree(Path(__file__).resolve().parents[2] / "content_repo" / "dl-basics", course)
    repos = tmp_path / "learner"
    publish_course(repos, "dl-basics", course, "v1")
    monkeypatch.setenv("LMS_COURSE", "dl-basics")
    monkeypatch.setenv("LMS_LESSON", "numpy-basics")
    monkeypatch.setenv("LMS_LEARNER_REPO", str(repos / "dl-basics.git"))
    return course, repos


async def test_content_updates_through_the_api(learner_repo, jp_fetch, jp_root_dir):
    from lms_extension.content.learner_repo import publish_course

    course, repos = learner_repo
    ctx = json.loads((await jp_fetch("lms", "api", "context")).body)
    assert ctx["materialized"] == {"from": "learner repo", "version": "v1"}
    notebook = jp_root_dir / "dl-basics" / "02-numpy" / "numpy-basics.ipynb"
    assert notebook.is_file()
    info = json.loads((await jp_fetch("lms", "api", "update")).body)
    assert info == {"available": False, "current": "v1", "latest": "v1", "changed": []}

    (course / "02-numpy" / "notes.md").write_text("new in v2\n")
    publish_course(repos, "dl-basics", course, "v2")
    info = json.loads((await jp_fetch("lms", "api", "update")).body)
    assert info == {"available": False, "current": "v1", "latest": "v1", "changed": []}, \
        "the learner repo is looked at again only after a minute"
    r = await jp_fetch("lms", "api", "update", method="POST", body="{}")
    report = json.loads(r.body)
    assert (report["from_version"], report["to_version"]) == ("v1", "v2")
    assert report["updated"] == ["02-numpy/notes.md"] and report["conflicts"] == []
    assert (jp_root_dir / "dl-basics" / "02-numpy" / "notes.md").read_text() == "new in v2\n"


async def test_update_without_a_learner_repo_says_so(jp_fetch):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("lms", "api", "update")
    assert err.value.code == 404
    assert "LMS_LEARNER_REPO" in json.loads(err.value.response.body)["message"]


@pytest.mark.parametrize("body, words", [
    ("not json", "body: not JSON"),
    ('{"lesson": "../etc/passwd"}', "lesson: must be '<course>/<lesson>'"),
    ('{"lesson": ["a", "b"]}', "lesson: must be"),
    ('{"lesson": "dl-basics/no-such-lesson"}', "is not in the course outline"),
    ("{" + '"x": "' + "y" * 5000 + '"}', "body: more than 4096 bytes"),
])
async def test_starting_another_environment_refuses_bad_requests(jp_fetch, body, words):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("lms", "api", "servers", method="POST", body=body)
    assert err.value.code == 400
    assert words in json.loads(err.value.response.body)["message"]


async def test_surveys_need_the_service(jp_fetch):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("lms", "api", "surveys", "dl-basics", "numpy-basics")
    assert err.value.code == 503
    assert "LMS_SERVICE_URL" in json.loads(err.value.response.body)["message"]


async def test_the_context_names_the_version_for_the_handshake(jp_fetch):
    from lms_extension import __version__
    from lms_extension.content.wire import MAX_EVENTS_PER_BATCH

    ctx = json.loads((await jp_fetch("lms", "api", "context")).body)
    assert ctx["version"] == __version__
    assert ctx["idle_timeout"] == 0  # no LMS_IDLE_TIMEOUT and no shutdown timeout: never
    assert ctx["limits"] == {"max_body_bytes": 262_144,
                             "max_events_per_batch": MAX_EVENTS_PER_BATCH,
                             "notebook_max_length": max_length(EventIn, "notebook")}
