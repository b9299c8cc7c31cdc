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


def test_without_a_free_gpu_the_cnn_lesson_runs_on_its_cpu_fallback(hub, run_id):
    """This hub has no GPUs: the CNN lesson's environment falls back to "torch"."""
    hub.create_user("gil")
    start(hub, "gil", "dl-basics/cnn-digits")
    info = container(run_id, "gil")
    env = dict(v.split("=", 1) for v in info["Config"]["Env"])
    assert (info["Config"]["Image"], env["LMS_ENVIRONMENT"]) == ("lms/pytorch:latest", "torch")
    assert not info["HostConfig"].get("DeviceRequests")
    assert not any("shutdown_no_activity" in a for a in info["Config"]["Cmd"])
    hub.stop_server("gil")
