"""Warm lesson pools: the hub keeps servers of a lesson started; the first learner who opens the
lesson gets one, bound to them alone (their identity, token, OAuth client and home volume), and
the pool starts a replacement. A lesson taken out of the pool has its waiting servers removed.

Attacks, from a learner's kernel and browser session: another learner, an anonymous visitor and
the pool's placeholder name get nothing from a claimed server; a claimed server's token acts for
its learner only; an unclaimed server holds no token and no one's home."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ..conftest import docker
from ..hubctl import Hub
from ..security.kernel import Kernel
from .accounts import login, open_lesson

LESSON = "dl-basics/python-basics"  # lms/base, the smallest image
WARM = 2
POOL_LABEL = "org.lms-platform.pool"


@pytest.fixture(scope="module")
def pool_hub(docker_engine, content_remote, run_id, tmp_path_factory):
    state = tmp_path_factory.mktemp("pool-hub")
    hub = Hub(state, str(content_remote), f"{run_id}-pool",
              {"LMS_WARM_LESSONS": f"{LESSON}={WARM}", "LMS_IDLE_TIMEOUT": "0"})
    hub.start()
    yield hub
    hub.stop()
    for name in docker("ps", "-aq", "--filter", f"name=lms-test-{hub.run_id}").split():
        docker("rm", "-f", name, check=False)
    # whatever is still mounted under the slots folder, and the shared mount itself
    subprocess.run(["umount", "-R", str(state / "pool-slots")], capture_output=True)


def pool_status(hub: Hub) -> dict:
    r = hub.api("GET", "/lms/pool")
    assert r.status_code == 200, r.text
    return r.json()


def wait_warm(hub: Hub, lesson: str, ready: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    status = {}
    while time.monotonic() < deadline:
        status = pool_status(hub)["lessons"].get(lesson, {})
        if status.get("ready") == ready and not status.get("starting"):
            return
        time.sleep(0.3)
    raise AssertionError(f"{lesson}: {status} after {timeout}s, not {ready} ready:\n"
                         f"{hub.log_tail(60)}")


def pooled(hub: Hub) -> list[dict]:
    """The pool's waiting containers (one that the hub removes meanwhile is not)."""
    ids = docker("ps", "-q", "--filter", f"label={POOL_LABEL}=lms-test-{hub.run_id}").split()
    # inspect lists those it still finds, and fails for the others
    infos = json.loads(docker("inspect", *ids, check=False) or "[]") if ids else []
    return [i for i in infos if "_pool_" in i["Name"]]


def container(hub: Hub, user: str) -> dict:
    return json.loads(docker("inspect", f"lms-test-{hub.run_id}-{user}"))[0]


def volume_path(hub: Hub, user: str) -> str:
    return docker("volume", "inspect", "--format", "{{.Mountpoint}}",
                  f"lms-test-{hub.run_id}-home-{user}")


def mounted(path: str) -> str | None:
    """What is mounted on ``path`` (its source folder), or None."""
    out = subprocess.run(["findmnt", "-n", "-o", "FSROOT", "--mountpoint", path],
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1] if out.returncode == 0 else None


def home_slot(info: dict) -> str:
    return next(m["Source"] for m in info["Mounts"] if m["Destination"] == "/home/jovyan")


def pooled_slots(hub: Hub) -> list[str]:
    return [home_slot(i) for i in pooled(hub)]


def claimed_slot(hub: Hub, user: str) -> str:
    return home_slot(container(hub, user))


def test_waiting_servers_hold_no_identity_and_no_home(pool_hub):
    wait_warm(pool_hub, LESSON, WARM)
    waiting = pooled(pool_hub)
    assert len(waiting) == WARM
    for info in waiting:
        env = dict(line.split("=", 1) for line in info["Config"]["Env"])
        assert not [k for k in env if k.startswith(("JUPYTERHUB_", "JPY_"))], env
        assert info["Config"]["Image"] == "lms/base:latest"
        # no volume: the home folder is an empty slot folder of the hub, read-only to the learner
        assert [m["Type"] for m in info["Mounts"] if m["Destination"] == "/home/jovyan"] == \
            ["bind"]
        assert not [m for m in info["Mounts"] if m["Type"] == "volume"], info["Mounts"]
        # the lesson server's hardening applies to waiting servers too
        assert info["HostConfig"]["CapDrop"] == ["ALL"]
        assert info["HostConfig"]["Memory"] > 0
        probe = subprocess.run(
            ["docker", "exec", info["Id"], "python3", "-c",
             "import os, socket\n"
             "print(sorted(os.listdir('/home/jovyan')))\n"
             "try:\n open('/home/jovyan/x', 'w')\n print('writable')\n"
             "except OSError:\n print('read-only')\n"
             "s = socket.socket()\n"
             "print('listening' if s.connect_ex(('127.0.0.1', 8888)) == 0 else 'closed')\n"
             "rows = [line.split() for name in ('tcp', 'tcp6')\n"
             "        for line in open(f'/proc/net/{name}').read().splitlines()[1:]]\n"
             # (127.0.0.11: the Docker engine's DNS resolver of the lesson network)
             "print([r[1] for r in rows if r[3] == '0A' and not r[1].startswith('0B00007F:')])"],
            capture_output=True, text=True)
        assert probe.stdout.split("\n")[:4] == ["[]", "read-only", "closed", "[]"], \
            probe.stdout + probe.stderr


def test_a_learner_claims_a_waiting_server_and_the_pool_refills(pool_hub):
    hub = pool_hub
    wait_warm(hub, LESSON, WARM)
    waiting = {i["Id"] for i in pooled(hub)}
    session = login(hub.url, "perla")
    r = open_lesson(hub.url, session, "perla", LESSON)
    assert r.status_code == 200 and "JupyterLab" in r.text, r.url
    mine = container(hub, "perla")
    assert mine["Id"] in waiting  # claimed, not created
    log = hub.log_tail(200)
    assert "perla claimed pooled server" in log
    # the lesson's notebook is in the learner's home volume
    notebook = session.get(f"{hub.url}/user/perla/api/contents/dl-basics/01-python/"
                           "python-basics.ipynb", timeout=30)
    assert notebook.status_code == 200, notebook.text
    assert os.path.exists(f"{volume_path(hub, 'perla')}/dl-basics/01-python/python-basics.ipynb")
    # a replacement starts at once
    wait_warm(hub, LESSON, WARM)
    assert mine["Id"] not in {i["Id"] for i in pooled(hub)}


def test_a_lesson_link_and_the_spawn_form_claim_waiting_servers_too(pool_hub):
    hub = pool_hub
    # the lesson link starts the lesson's environment's named server
    wait_warm(hub, LESSON, WARM)
    waiting = {i["Id"] for i in pooled(hub)}
    session = login(hub.url, "tara")
    r = session.get(f"{hub.url}/hub/lms/open/{LESSON}", timeout=120)
    hub.wait_ready("tara", "python")
    assert container(hub, "tara--python")["Id"] in waiting
    r = session.get(f"{hub.url}/user/tara/python/lab", timeout=60)  # (through the hub's OAuth)
    assert r.status_code == 200 and "JupyterLab" in r.text, r.url
    hub.stop_server("tara", "python")
    # the spawn form's Start button
    wait_warm(hub, LESSON, WARM)
    waiting = {i["Id"] for i in pooled(hub)}
    session = login(hub.url, "uma")
    form = session.get(f"{hub.url}/hub/spawn", timeout=60)
    action = re.search(r'id="spawn_form"\s+action="([^"]+)"', form.text).group(1)
    assert f'value="{LESSON}"' in form.text
    r = session.post(f"{hub.url}{action.replace('&amp;', '&')}", data={"lesson": LESSON},
                     timeout=120)
    assert r.status_code == 200, r.status_code
    hub.wait_ready("uma")
    assert container(hub, "uma")["Id"] in waiting
    hub.stop_server("uma")


def test_a_claimed_server_serves_only_its_learner(pool_hub):
    hub = pool_hub
    wait_warm(hub, LESSON, WARM)
    if "" not in hub.api("GET", "/users/perla").json().get("servers", {}):
        pytest.fail("needs perla's server of the test before")
    hub.create_user("quinn")
    assert hub.start_lesson("quinn", LESSON).status_code in (201, 202)
    hub.wait_ready("quinn")
    assert container(hub, "quinn")["Config"]["Labels"].get(POOL_LABEL)  # also a claimed one
    # each learner's home is their own volume
    for user in ("perla", "quinn"):
        r = hub.server_request("PUT", user, f"api/contents/{user}.txt",
                               json={"type": "file", "format": "text", "content": user})
        assert r.status_code in (200, 201), r.text
    for user, other in (("perla", "quinn"), ("quinn", "perla")):
        home = volume_path(hub, user)
        assert os.path.exists(f"{home}/{user}.txt") and not os.path.exists(f"{home}/{other}.txt")
        listing = docker("exec", f"lms-test-{hub.run_id}-{user}", "ls", "/home/jovyan").split()
        assert f"{user}.txt" in listing and f"{other}.txt" not in listing

    # inside perla's server: her identity, her token, nothing of the pool's
    code = ("import json, os, urllib.request\n"
            "env = {k: v for k, v in os.environ.items() if k.startswith('JUPYTERHUB_')}\n"
            "def call(path):\n"
            "    req = urllib.request.Request(env['JUPYTERHUB_API_URL'] + path,\n"
            "        headers={'Authorization': 'token ' + env['JUPYTERHUB_API_TOKEN']})\n"
            "    try:\n"
            "        with urllib.request.urlopen(req, timeout=20) as r:\n"
            "            return r.status, json.load(r).get('name')\n"
            "    except urllib.error.HTTPError as e:\n"
            "        return e.code, None\n"
            "print(json.dumps({'env': env, 'me': call('/user'), 'other': call('/users/quinn'),\n"
            "                  'cwd': os.getcwd(), 'home': sorted(os.listdir(os.path.expanduser('~')))}))")
    result = Kernel(hub, "perla").run(code)
    assert result.status == "ok", result
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    env = seen["env"]
    assert env["JUPYTERHUB_USER"] == "perla"
    assert env["JUPYTERHUB_CLIENT_ID"] == "jupyterhub-user-perla"
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == "/user/perla/"
    assert "_pool_" not in json.dumps(env) and "lms-pool" not in json.dumps(env)
    assert seen["me"] == [200, "perla"]
    assert seen["other"][0] in (403, 404)
    assert "perla.txt" in seen["home"] and "quinn.txt" not in seen["home"]

    # over the web: another learner, a visitor, the placeholder name and stolen cookies fail
    other = login(hub.url, "rhea")
    for session in (other, requests.Session()):
        r = session.get(f"{hub.url}/user/perla/api/contents/perla.txt", timeout=30)
        assert r.status_code in (302, 401, 403, 404) or "perla" not in r.text, r.status_code
        assert not (r.ok and '"content": "perla"' in r.text)
    placeholder = next(iter(pooled(hub)))["Name"].lstrip("/")
    r = hub.api("POST", f"/users/{placeholder}")
    if r.status_code == 201:  # a hub user named like the placeholder gets no way in either
        token = hub.api("POST", f"/users/{placeholder}/tokens", json={}).json()["token"]
        r = requests.get(f"{hub.url}/user/perla/api/contents/perla.txt", timeout=30,
                         headers={"Authorization": f"token {token}"})
        assert r.status_code == 403, r.status_code
    else:
        assert r.status_code == 400, r.text  # not even a valid user name
    rhea_token = hub.api("POST", "/users/rhea/tokens", json={}).json()["token"]
    r = requests.get(f"{hub.url}/user/perla/api/contents/perla.txt", timeout=30,
                     headers={"Authorization": f"token {rhea_token}"})
    assert r.status_code == 403, r.status_code


def test_stopping_a_claimed_server_leaves_its_home_and_nothing_mounted(pool_hub):
    hub = pool_hub
    if "" not in hub.api("GET", "/users/quinn").json().get("servers", {}):
        pytest.fail("needs the server of the test before")
    slot = claimed_slot(hub, "quinn")
    assert mounted(slot) == volume_path(hub, "quinn")  # her home, mounted into the slot
    hub.stop_server("quinn")
    assert not os.path.exists(slot) and mounted(slot) is None
    assert os.path.exists(f"{volume_path(hub, 'quinn')}/quinn.txt")
    slots = os.path.dirname(slot)
    wait_warm(hub, LESSON, WARM)  # the slots folder holds the live servers' slots only
    assert sorted(os.listdir(slots)) == sorted(
        os.path.basename(s) for s in [*pooled_slots(hub), claimed_slot(hub, "perla")])


def test_after_a_hub_restart_claimed_servers_stay_and_the_pool_starts_afresh(pool_hub):
    hub = pool_hub
    wait_warm(hub, LESSON, WARM)
    before = {i["Id"] for i in pooled(hub)}
    slot = claimed_slot(hub, "perla")
    hub.restart()
    wait_warm(hub, LESSON, WARM)
    assert not before & {i["Id"] for i in pooled(hub)}  # the old waiting ones were removed
    assert mounted(slot) == volume_path(hub, "perla")
    r = hub.server_request("GET", "perla", "api/contents/perla.txt")
    assert r.status_code == 200 and r.json()["content"] == "perla"
    assert sorted(os.listdir(os.path.dirname(slot))) == sorted(
        os.path.basename(s) for s in [*pooled_slots(hub), slot])


def test_a_lesson_taken_out_of_the_pool_loses_its_waiting_servers(pool_hub):
    hub = pool_hub
    wait_warm(hub, LESSON, WARM)
    # only admins change the pool, and only to lessons that exist
    learner = hub.api("POST", "/users/perla/tokens", json={}).json()["token"]
    assert hub.api("PUT", "/lms/pool", token=learner,
                   json={"warm_lessons": {}}).status_code == 403
    assert hub.api("GET", "/lms/pool", token=learner).status_code == 403
    assert hub.api("GET", "/lms/pool", token="not-a-token").status_code == 403
    r = hub.api("PUT", "/lms/pool", json={"warm_lessons": {"dl-basics/no-such": 1}})
    assert r.status_code == 400 and "dl-basics/no-such" in r.json()["message"]
    r = hub.api("PUT", "/lms/pool", json={"warm_lessons": {LESSON: "two"}})
    assert r.status_code == 400 and "warm_lessons" in r.json()["message"]
    assert pool_status(hub)["warm_lessons"] == {LESSON: WARM}

    r = hub.api("PUT", "/lms/pool", json={"warm_lessons": {}})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 60
    while pooled(hub) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert pooled(hub) == []
    assert pool_status(hub)["lessons"].get(LESSON, {}).get("ready", 0) == 0
    # a claimed server is the learner's: it keeps running
    assert hub.api("GET", "/users/perla").json()["servers"][""]["ready"]
    # with nothing warm, a start is a normal one
    hub.create_user("sana")
    assert hub.start_lesson("sana", LESSON).status_code in (201, 202)
    hub.wait_ready("sana")
    assert POOL_LABEL not in (container(hub, "sana")["Config"]["Labels"] or {})
    slot = claimed_slot(hub, "perla")
    for user in ("perla", "sana"):
        hub.stop_server(user)
    # (perla's server was claimed before the hub's restart: its slot is freed all the same)
    assert mounted(slot) is None and not os.path.exists(slot)


def test_a_class_session_warms_its_lesson_and_its_end_removes_them(pool_hub):
    hub = pool_hub
    assert pooled(hub) == []
    soon = datetime.now(UTC) + timedelta(minutes=5)  # within warm_before (15 minutes)
    session = {"lesson": LESSON, "start": soon.isoformat(), "count": 1, "cohort": "fall-a"}
    r = hub.api("PUT", "/lms/pool", json={"schedule": [session]})
    assert r.status_code == 200, r.text
    assert r.json()["wanted"] == {LESSON: 1}
    wait_warm(hub, LESSON, 1)
    r = hub.api("PUT", "/lms/pool", json={"schedule": [{**session, "lesson": "dl-basics/no"}]})
    assert r.status_code == 400 and "schedule[0].lesson: dl-basics/no" in r.json()["message"]
    r = hub.api("PUT", "/lms/pool", json={"schedule": [{**session, "start": "9am"}]})
    assert r.status_code == 400 and "schedule[0].start: '9am'" in r.json()["message"]
    assert len(pooled(hub)) == 1
    # the session is over (past warm_after): its lesson leaves the schedule
    over = {**session, "start": (datetime.now(UTC) - timedelta(hours=2)).isoformat()}
    r = hub.api("PUT", "/lms/pool", json={"schedule": [over]})
    assert r.status_code == 200 and r.json()["wanted"] == {}
    deadline = time.monotonic() + 60
    while pooled(hub) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert pooled(hub) == []


def test_waiting_servers_go_with_the_hub(pool_hub):
    hub = pool_hub
    r = hub.api("PUT", "/lms/pool", json={"warm_lessons": {LESSON: 1}, "schedule": []})
    assert r.status_code == 200, r.text
    wait_warm(hub, LESSON, 1)
    slots = os.path.dirname(pooled_slots(hub)[0])
    hub.stop()
    assert pooled(hub) == [] and os.listdir(slots) == []
    hub.start()
