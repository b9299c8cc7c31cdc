"""The hub's GPU pool: concurrent spawns never share a card, stop frees, a restart keeps the
books, and a GPU lesson server stops itself sooner when idle."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..hubctl import Hub
from .gpu_engine import GpuEngine

LESSON = "policy-check/gpu-lesson"
ALL = {"0", "1", "2", "3"}


@pytest.fixture(scope="module")
def engine(docker_engine, tmp_path_factory):
    engine = GpuEngine(tmp_path_factory.mktemp("gpu-engine"))
    engine.start(["lms/base:latest"])
    yield engine
    engine.stop()


@pytest.fixture(scope="module")
def gpu_hub(engine, content_remote, run_id, tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("gpu-hub"), str(content_remote), f"{run_id}-gpu",
              {"LMS_TEST_DOCKER_HOST": engine.host, "LMS_TEST_GPU_IDS": ",".join(sorted(ALL)),
               # the stand-in GPU engine runs without bridge networks
               "LMS_HOST_NETWORKING": "1",
               "LMS_IDLE_TIMEOUT": "0"})
    hub.start()
    yield hub
    hub.stop()


def test_the_gpu_engine_leaves_the_machines_engine_its_default_bridge(engine):
    """The tests' second engine runs beside the machine's own (``dockerd --bridge none`` would
    delete the machine's ``docker0`` as it starts): a container on the machine engine's default
    network still starts while it runs."""
    out = subprocess.run(["docker", "run", "--rm", "--network", "bridge", "lms/base:latest",
                          "true"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def gpus_of(engine: GpuEngine, run_id: str, user: str) -> set[str]:
    info = engine.inspect(f"lms-test-{run_id}-gpu-{user}")
    (request,) = info["HostConfig"]["DeviceRequests"]
    assert request["Driver"] == "nvidia" and request["Capabilities"] == [["gpu"]]
    return set(request["DeviceIDs"])


def spawn_all(hub: Hub, users: list[str]):
    for user in users:
        hub.create_user(user)
    with ThreadPoolExecutor(len(users)) as pool:
        return dict(zip(users, pool.map(lambda u: hub.start_lesson(u, LESSON), users)))


def test_gpu_spawns_share_no_card_and_the_books_survive_a_restart(gpu_hub, engine, run_id):
    hub = gpu_hub
    users = [f"gpu{i}" for i in range(10)]
    answers = spawn_all(hub, users)
    started = [u for u, r in answers.items() if r.status_code in (201, 202)]
    refused = [r for r in answers.values() if r.status_code == 503]
    assert (len(started), len(refused)) == (4, 6), {u: r.status_code for u, r in answers.items()}
    for r in refused:
        assert "needs a GPU and none is free (1 GPU(s) needed, 0 of 4 free)" in r.json()["message"]
    for user in started:
        hub.wait_ready(user)
    held = {user: gpus_of(engine, run_id, user) for user in started}
    assert set().union(*held.values()) == ALL and all(len(g) == 1 for g in held.values())
    cmd = engine.inspect(f"lms-test-{run_id}-gpu-{started[0]}")["Config"]["Cmd"]
    assert "--ServerApp.shutdown_no_activity_timeout=900" in cmd

    # stopping frees the card for the next learner
    hub.stop_server(started[0])
    waiting = [u for u in users if u not in started]  # refused a moment ago
    late, last = waiting[0], waiting[-1]
    assert hub.start_lesson(late, LESSON).status_code in (201, 202)
    hub.wait_ready(late)
    assert gpus_of(engine, run_id, late) == held[started[0]]

    # after a hub restart the running servers still hold their cards
    hub.restart()
    again = hub.start_lesson(last, LESSON)
    assert again.status_code == 503, again.text
    hub.stop_server(started[1])
    assert hub.start_lesson(last, LESSON).status_code in (201, 202)
    hub.wait_ready(last)
    assert gpus_of(engine, run_id, last) == held[started[1]]
    for user in [*started[2:], late, last]:
        hub.stop_server(user)


def test_a_running_gpu_container_the_hub_lost_track_of_keeps_its_card(gpu_hub, engine, run_id):
    """A lesson container of this hub that still runs but that the hub has no record of (a
    reset hub database, say) is found at start-up: its card is not handed out again."""
    hub = gpu_hub
    leftover = f"lms-test-{run_id}-gpu-leftover"
    out = engine.docker("run", "-d", "--name", leftover, "--network", "none",
                        "--gpus", "device=2", "--entrypoint", "sleep", "lms/base:latest", "300")
    assert out.returncode == 0, out.stderr
    try:
        hub.restart()
        hub.create_user("counter")
        token = hub.api("POST", "/users/counter/tokens", json={"note": "gpus"}).json()["token"]
        counts = hub.api("GET", "/lms/gpus", token=token)
        assert counts.status_code == 200, counts.text
        assert counts.json() == {"free": 3, "total": 4}
        assert hub.api("GET", "/lms/gpus", token="not-a-token").status_code == 403

        users = [f"gpuafter{i}" for i in range(4)]
        answers = spawn_all(hub, users)
        started = [u for u, r in answers.items() if r.status_code in (201, 202)]
        assert len(started) == 3, {u: r.status_code for u, r in answers.items()}
        for user in started:
            hub.wait_ready(user)
        given = set().union(*(gpus_of(engine, run_id, u) for u in started))
        assert given == ALL - {"2"}
        assert hub.api("GET", "/lms/gpus", token=token).json() == {"free": 0, "total": 4}
        for user in started:
            hub.stop_server(user)
        assert hub.api("GET", "/lms/gpus", token=token).json() == {"free": 3, "total": 4}
    finally:
        engine.docker("rm", "-f", leftover)
