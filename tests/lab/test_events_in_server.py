"""Learner events through real Jupyter Servers with the extension to a server that speaks the LMS
service's events protocol: a bad event never holds up the rest, and two servers of one learner
on the same home forward through one of them only."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import pytest
import requests
from tornado.httpclient import HTTPClientError

from ..hubctl import free_port
from .protocol_service import ProtocolService


@pytest.fixture
def jp_server_config(lms_env, service):
    return {"ServerApp": {"jpserver_extensions": {"lms_extension": True}},
            "LmsExtensionApp": {"service_url": service.url, "token": "token-a",
                                "forward_interval": 0.2}}


def event(**fields) -> dict:
    return {"id": str(uuid.uuid4()), "kind": "cell_executed", "course": "dl-basics",
            "lesson": "numpy-basics", "at": datetime.now(UTC).isoformat(), "cell_id": "c1",
            "ok": True, **fields}


async def arrived(service: ProtocolService, ids, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not set(ids) <= set(service.stored):
        assert time.monotonic() < deadline, (sorted(ids), service.requests)
        await asyncio.sleep(0.05)


def extension_app(serverapp):
    return serverapp.extension_manager.extension_points["lms_extension"].app


async def test_a_long_notebook_path_is_refused_alone_and_the_rest_arrives(jp_fetch, service):
    good = [event(notebook="dl-basics/02-numpy/numpy-basics.ipynb"), event(cell_id="c2")]
    long_path = event(notebook="dl-basics/" + "deep/" * 300 + "lesson.ipynb")
    r = await jp_fetch("lms", "api", "events", method="POST",
                       body=json.dumps({"events": [good[0], long_path, good[1]]}))
    result = json.loads(r.body)
    assert result["taken"] == [good[0]["id"], good[1]["id"]]
    assert [(x["index"], x["field"]) for x in result["refused"]] == [(1, "events.1.notebook")]
    await arrived(service, [e["id"] for e in good])
    assert long_path["id"] not in service.sent_counts()
    status = json.loads((await jp_fetch("lms", "api", "events")).body)
    assert status["queued"] == 0 and status["forwarding"] is True


async def test_events_the_service_refuses_are_set_aside_in_the_server(jp_fetch, service):
    good, unknown = event(), event(lesson="no-such-lesson")
    await jp_fetch("lms", "api", "events", method="POST",
                   body=json.dumps({"events": [unknown, good]}))
    await arrived(service, [good["id"]])
    for _ in range(100):
        status = json.loads((await jp_fetch("lms", "api", "events")).body)
        if status["refused"]:
            break
        await asyncio.sleep(0.05)
    assert (status["queued"], status["refused"]) == (0, 1)
    assert status["refusals"][0]["field"] == "events.0.lesson"
    await asyncio.sleep(1)  # five more rounds of the forwarder: nothing is sent again
    assert service.sent_counts() == {good["id"]: 1, unknown["id"]: 1}


async def reported(service: ProtocolService, ids, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not set(ids) <= set(service.reports):
        assert time.monotonic() < deadline, (sorted(ids), service.report_requests)
        await asyncio.sleep(0.05)


async def test_events_refused_here_are_reported_to_the_service(jp_fetch, service):
    good, broken = event(), event()
    broken.pop("ok")
    r = await jp_fetch("lms", "api", "events", method="POST",
                       body=json.dumps({"events": [good, broken, ["not an event"]]}))
    assert [x["field"] for x in json.loads(r.body)["refused"]] == ["events.1.ok", "events.2"]
    await arrived(service, [good["id"]])
    await reported(service, [broken["id"]])
    assert len(service.reports) == 2
    mine = service.reports[broken["id"]]
    assert (mine["id"], mine["course"], mine["lesson"], mine["field"]) == (
        broken["id"], "dl-basics", "numpy-basics", "events.1.ok")
    (other,) = [x for x in service.reports.values() if x["id"] is None]
    assert other["report_id"].startswith("unreadable-") and other["field"] == "events.2"
    assert broken["id"] not in service.sent_counts(), "a refused event is reported, not sent"
    status = json.loads((await jp_fetch("lms", "api", "events")).body)
    assert (status["refused"], status["unreported"]) == (2, 0)
    assert all(x["reported"] for x in status["refusals"])
    await asyncio.sleep(1)  # five more rounds of the forwarder: nothing is reported again
    assert service.reported_counts() == {i: 1 for i in service.reports}


async def test_an_event_alone_over_the_body_limit_is_reported(jp_fetch, service):
    huge = event(notebook="n" * 300_000)
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("lms", "api", "events", method="POST",
                       body=json.dumps({"events": [huge]}))
    assert refused.value.code == 413
    await reported(service, [huge["id"]])
    report = service.reports[huge["id"]]
    assert report["field"] == "body" and "more than the limit of 262144" in report["reason"]
    assert report["body"].startswith('{"id":') and len(report["body"]) <= 4001


@pytest.fixture
def second_server(lms_env, service, tmp_path):
    """Starts another server of the same learner on the same home (a named server of another
    environment), in its own process."""
    started = []

    def start():
        started.append(_start_server(lms_env, service, tmp_path))
        return started[-1]

    yield start
    for proc, _, _ in started:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(20)


def _start_server(lms_env, service, tmp_path):
    port, token = free_port(), uuid.uuid4().hex
    config = tmp_path / "second-config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"jpserver_extensions": {
            "lms_extension": True, "jupyterlab": False, "nbgitpuller": False,
            "jupyter_lsp": False, "notebook_shim": False}},
        "LmsExtensionApp": {"forward_interval": 0.2}}))
    env = {**os.environ, "HOME": str(lms_env), "JUPYTER_CONFIG_DIR": str(config),
           "LMS_SERVICE_URL": service.url, "JUPYTERHUB_API_TOKEN": "token-b",
           "JUPYTERHUB_USER": "owner", "JUPYTERHUB_SERVER_NAME": "gpu"}
    root = tmp_path / "second-root"
    root.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
         "--ip=127.0.0.1", "--allow-root", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}/lms/api", {"Authorization": f"token {token}"}


async def test_two_servers_on_one_home_forward_through_one(jp_fetch, jp_serverapp, service,
                                                           second_server):
    await jp_serverapp._post_start()  # as the server does once its event loop runs
    proc, url, headers = second_server()
    # this server forwards: it took the home's lease when it started
    status = json.loads((await jp_fetch("lms", "api", "events")).body)
    assert status["forwarding"] is True

    def call(method, path, **kwargs):
        return requests.request(method, f"{url}/{path}", headers=headers, timeout=10, **kwargs)

    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
        try:
            if call("GET", "events").status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "the second server did not start"
        await asyncio.sleep(0.2)
    other = await asyncio.to_thread(call, "GET", "events")
    assert other.json()["forwarding"] is False
    assert other.json()["forwarded_by"] == f"owner/(default) on {os.uname().nodename}"

    first = [event(cell_id=f"a{i}") for i in range(5)]
    answer = await asyncio.to_thread(call, "POST", "events", json={"events": first})
    assert answer.json()["taken"] == [e["id"] for e in first]
    await arrived(service, [e["id"] for e in first])
    assert {r["token"] for r in service.requests} == {"token-a"}, "only the lease holder sends"

    # this server stops: the other one takes over
    await extension_app(jp_serverapp).stop_extension()
    later = [event(cell_id=f"b{i}") for i in range(3)]
    await asyncio.to_thread(call, "POST", "events", json={"events": later})
    await arrived(service, [e["id"] for e in later])
    assert service.requests[-1]["token"] == "token-b"
    assert (await asyncio.to_thread(call, "GET", "events")).json()["forwarding"] is True
    assert service.sent_counts() == {e["id"]: 1 for e in first + later}
    assert service.max_in_flight == 1


BROWSER_QUEUE = """
const { EventBatcher } = require(process.env.BATCHER);
const [base, token, stored, added] = process.argv.slice(1);
const headers = { Authorization: `token ${token}` };
const data = new Map([['lms-course:pending-events', stored]]);
const store = { getItem: k => data.get(k) ?? null, setItem: (k, v) => data.set(k, v) };
(async () => {
  const context = await (await fetch(`${base}context`, { headers })).json();
  const refused = [];
  const batcher = new EventBatcher({
    store, limits: context.limits, schedule: () => 0,
    onRefused: (event, refusal) => refused.push([event.id, refusal.field]),
    send: async events => {
      const body = JSON.stringify({ events });
      const r = await fetch(`${base}events`, { method: 'POST', headers, body });
      const answer = await r.json();
      if (!r.ok) { throw Object.assign(new Error(answer.message), { status: r.status }); }
      return answer;
    }
  });
  JSON.parse(added).forEach(e => batcher.add(e));
  const done = await batcher.flush();
  console.log(JSON.stringify({ done, pending: batcher.pending, refused }));
})();
"""


async def test_the_browser_queue_gets_past_long_paths_and_bad_events(jp_fetch, jp_serverapp,
                                                                     jp_base_url, jp_http_port,
                                                                     service):
    """The labextension's queue code (compiled for Node) against this server: long notebook
    paths are left out, a bad event is dropped, everything else reaches the service."""
    from .test_frontend import LAB

    build = await asyncio.create_subprocess_exec("npx", "tsc", "-p", "tsconfig.test.json",
                                                 cwd=LAB)
    assert await build.wait() == 0
    long_path = "dl-basics/" + "deep/" * 300 + "lesson.ipynb"
    from_before = event(notebook=long_path)  # waiting in the browser since before the limit
    broken = event(kind="cell_executed", ok=None)  # no "ok": the server extension refuses it
    broken.pop("ok")
    fresh = [event(notebook=long_path, cell_id="c2"), event(cell_id="c3")]
    node = await asyncio.create_subprocess_exec(
        "node", "-e", BROWSER_QUEUE, f"http://127.0.0.1:{jp_http_port}{jp_base_url}lms/api/",
        jp_serverapp.identity_provider.token, json.dumps([from_before, broken]),
        json.dumps(fresh), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "BATCHER": str(LAB / "build-test" / "src" / "batcher.js")})
    out, err = await asyncio.wait_for(node.communicate(), 60)
    assert node.returncode == 0, err.decode()
    result = json.loads(out)
    assert result == {"done": True, "pending": [],
                      "refused": [[broken["id"], "events.1.ok"]]}
    sent = [from_before, *fresh]
    await arrived(service, [e["id"] for e in sent])
    assert broken["id"] not in service.stored
    assert service.stored[from_before["id"]]["notebook"] is None  # left out
    assert service.stored[fresh[1]["id"]]["cell_id"] == "c3"
    status = json.loads((await jp_fetch("lms", "api", "events")).body)
    assert status["refusals"][0]["id"] == broken["id"]
