"""Warm GPU lessons count against the hub's GPU pool: a waiting server holds its card, a claim
hands that card to the learner, the pool warms again only while a card is free, and taking the
lesson out of the pool gives its cards back. (On the test engine whose NVIDIA hook is a
stand-in: see gpu_engine.py.)"""

from __future__ import annotations

import time

import pytest

from ..hubctl import Hub
from .gpu_engine import GpuEngine

LESSON = "policy-check/gpu-lesson"  # gpu: 1, no CPU fallback
POOL_LABEL = "org.lms-platform.pool"


@pytest.fixture(scope="module")
def engine(docker_engine, tmp_path_factory):
    engine = GpuEngine(tmp_path_factory.mktemp("gpu-pool-engine"))
    engine.start(["lms/base:latest"])
    yield engine
    engine.stop()


@pytest.fixture(scope="module")
def hub(engine, content_remote, run_id, tmp_path_factory):
    state = tmp_path_factory.mktemp("gpu-pool-hub")
    hub = Hub(state, str(content_remote), f"{run_id}-gpool",
              {"LMS_TEST_DOCKER_HOST": engine.host, "LMS_TEST_GPU_IDS": "0,1",
               "LMS_WARM_LESSONS": f"{LESSON}=1",
               # the stand-in GPU engine runs without bridge networks
               "LMS_HOST_NETWORKING": "1", "LMS_IDLE_TIMEOUT": "0"})
    hub.start()
    yield hub
    hub.stop()
    ids = engine.docker("ps", "-aq").stdout.split()
    if ids:
        engine.docker("rm", "-f", *ids)
    import subprocess

    subprocess.run(["umount", "-R", str(state / "pool-slots")], capture_output=True)


def gpus(hub: Hub) -> dict:
    """Free and total cards, as the spawn form shows them to a learner."""
    hub.create_user("counter")
    token = hub.api("POST", "/users/counter/tokens", json={"note": "gpus"}).json()["token"]
    r = hub.api("GET", "/lms/gpus", token=token)
    assert r.status_code == 200, r.text
    return r.json()


def waiting(hub: Hub, engine: GpuEngine) -> dict[str, set[str]]:
    """The pool's waiting containers and the cards each holds."""
    out = engine.docker("ps", "--format", "{{.Names}}", "--filter", f"label={POOL_LABEL}")
    held = {}
    for name in out.stdout.split():
        if "_pool_" in name:
            held[name] = cards(engine, name)
    return held


def cards(engine: GpuEngine, name: str) -> set[str]:
    requests = engine.inspect(name)["HostConfig"]["DeviceRequests"] or []
    return {i for r in requests for i in r["DeviceIDs"]}


def wait_for(check, what: str, hub: Hub, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{what} not in {timeout}s:\n{hub.log_tail(60)}")


def ready(hub: Hub) -> int:
    return hub.api("GET", "/lms/pool").json()["lessons"].get(LESSON, {}).get("ready", 0)


def test_waiting_gpu_servers_hold_their_cards_and_hand_them_on(hub, engine, run_id):
    wait_for(lambda: ready(hub) == 1, "one warm GPU server", hub)
    (first, held), = waiting(hub, engine).items()
    assert len(held) == 1
    assert gpus(hub) == {"free": 1, "total": 2}
    first_id = engine.inspect(first)["Id"]

    # the first learner gets the waiting server and its card; the pool warms the other card
    hub.create_user("gina")
    assert hub.start_lesson("gina", LESSON).status_code in (201, 202)
    hub.wait_ready("gina")
    assert cards(engine, f"lms-test-{run_id}-gpool-gina") == held
    assert engine.inspect(f"lms-test-{run_id}-gpool-gina")["Id"] == first_id  # claimed
    wait_for(lambda: ready(hub) == 1, "a warm server on the other card", hub)
    (second, other), = waiting(hub, engine).items()
    assert other and other != held
    assert gpus(hub) == {"free": 0, "total": 2}

    # the second learner takes that one; no card is left to warm another
    hub.create_user("hugo")
    assert hub.start_lesson("hugo", LESSON).status_code in (201, 202)
    hub.wait_ready("hugo")
    assert cards(engine, f"lms-test-{run_id}-gpool-hugo") == other
    time.sleep(2)
    assert waiting(hub, engine) == {} and ready(hub) == 0
    # a third learner is told that no card is free, as without pools
    hub.create_user("ines")
    r = hub.start_lesson("ines", LESSON)
    assert r.status_code == 503 and "none is free" in r.json()["message"], r.text

    # a card that comes back is warmed again; taking the lesson out of the pool frees it
    hub.stop_server("gina")
    wait_for(lambda: ready(hub) == 1, "a warm server on the freed card", hub)
    assert list(waiting(hub, engine).values()) == [held]
    assert gpus(hub) == {"free": 0, "total": 2}
    r = hub.api("PUT", "/lms/pool", json={"warm_lessons": {}})
    assert r.status_code == 200, r.text
    wait_for(lambda: gpus(hub) == {"free": 1, "total": 2}, "the card back in the GPU pool", hub)
    assert waiting(hub, engine) == {}
    assert hub.start_lesson("ines", LESSON).status_code in (201, 202)
    hub.wait_ready("ines")
    assert cards(engine, f"lms-test-{run_id}-gpool-ines") == held
    for user in ("hugo", "ines"):
        hub.stop_server(user)
