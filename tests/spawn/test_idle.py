"""Idle lesson servers are stopped: by jupyterhub-idle-culler, and GPU ones by themselves."""

from __future__ import annotations

import time

import pytest

from ..hubctl import Hub
from .test_api_spawn import container, start


@pytest.fixture
def culling_hub(docker_engine, content_remote, run_id, tmp_path):
    hub = Hub(tmp_path, str(content_remote), f"{run_id}-idle",
              {"LMS_IDLE_TIMEOUT": "8", "LMS_IDLE_CULL_EVERY": "2"})
    hub.start()
    yield hub
    hub.stop()


def test_the_idle_culler_stops_an_idle_lesson_server(culling_hub):
    hub = culling_hub
    hub.create_user("ida")
    start(hub, "ida", "dl-basics/python-basics")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not hub.api("GET", "/users/ida").json()["servers"]:
            break
        time.sleep(1)
    assert hub.api("GET", "/users/ida").json()["servers"] == {}, hub.log_tail(40)
    assert "idle-culler" in hub.log_tail(400)


def test_gpu_lesson_servers_stop_themselves_when_idle(hub, run_id):
    hub.create_user("gil")
    start(hub, "gil", "dl-basics/cnn-digits")
    cmd = container(run_id, "gil")["Config"]["Cmd"]
    assert "--ServerApp.shutdown_no_activity_timeout=900" in cmd
    assert "--MappingKernelManager.cull_idle_timeout=900" in cmd
    hub.stop_server("gil")
    start(hub, "gil", "dl-basics/numpy-basics")  # a CPU lesson: the hub's culler only
    assert not any("shutdown_no_activity" in a for a in container(run_id, "gil")["Config"]["Cmd"])
    hub.stop_server("gil")
