"""Lessons as Docker Swarm services through a real hub: spawn, reach, inspect, restart, stop.

Here this machine's engine is a one-node swarm (the GPU node joins only in test_swarm_gpus.py),
so every task runs on it, with host networking on 127.0.0.1.
"""

from __future__ import annotations

import json

from .swarm import run

GiB = 2**30
LESSON = "dl-basics/pytorch-mlp"  # environment torch: memory 4G (the hub caps 3G), shm 1G
NOTEBOOK = "dl-basics/05-pytorch-mlp/pytorch-mlp.ipynb"


def start(hub, user: str, lesson: str) -> None:
    r = hub.start_lesson(user, lesson)
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(user)


def env_of(spec: dict) -> dict[str, str]:
    return dict(item.split("=", 1) for item in spec["TaskTemplate"]["ContainerSpec"]["Env"])


def test_a_lesson_runs_as_a_swarm_service_until_stopped(swarm_hub, swarm):
    hub, name = swarm_hub, f"{swarm_hub.prefix}-sally"
    hub.create_user("sally")
    start(hub, "sally", LESSON)

    # the lesson server answers through the hub's proxy, at the lesson's notebook
    assert hub.server_request("GET", "sally", "api/status").status_code == 200
    r = hub.server_request("GET", "sally", f"api/contents/{NOTEBOOK}")
    assert r.status_code == 200, r.text
    assert hub.api("GET", "/users/sally").json()["servers"][""]["url"] == "/user/sally/"

    service = swarm.service(name)
    assert service is not None, f"no service {name}"
    spec = service["Spec"]
    task, container = spec["TaskTemplate"], spec["TaskTemplate"]["ContainerSpec"]
    assert container["Image"] == "lms/pytorch:latest"
    env = env_of(spec)
    assert (env["LMS_COURSE"], env["LMS_LESSON"], env["LMS_ENVIRONMENT"]) == (
        "dl-basics", "pytorch-mlp", "torch")
    assert "LMS_CONTENT_DIR" not in env
    assert env["LMS_LEARNER_REPO"] == "/srv/lms/learner/dl-basics.git"
    assert len(env["LMS_CONTENT_VERSION"]) == 40
    assert env["LMS_SERVICE_URL"].endswith("/services/lms")
    assert spec["Labels"]["lms.lesson"] == LESSON
    # the hub's cap (3G) beats the environment's 4G; the hub's default CPU and process limits
    assert task["Resources"]["Limits"] == {"MemoryBytes": 3 * GiB, "NanoCPUs": 10**9, "Pids": 1024}
    assert not task["Resources"].get("Reservations", {}).get("GenericResources")
    assert task["RestartPolicy"]["Condition"] == "none"
    mounts = {m["Target"]: m for m in container["Mounts"]}
    assert mounts["/srv/lms/learner/dl-basics.git"]["Type"] == "bind"
    assert mounts["/srv/lms/learner/dl-basics.git"]["ReadOnly"] is True
    assert "/srv/lms/content" not in mounts
    assert mounts["/home/jovyan"]["Type"] == "volume"
    assert mounts["/home/jovyan"]["Source"] == f"{hub.prefix}-home-sally"
    assert mounts["/dev/shm"]["Type"] == "tmpfs"
    assert mounts["/dev/shm"]["TmpfsOptions"]["SizeBytes"] == GiB  # the environment's shm
    assert not any("docker.sock" in m.get("Source", "") for m in container["Mounts"])
    assert container["CapabilityDrop"] == ["ALL"]
    api = tuple(map(int, run("version", "--format", "{{.Server.APIVersion}}").split(".")))
    if api >= (1, 44):  # engines older than that have no no-new-privileges for services
        assert container["Privileges"]["NoNewPrivileges"] is True

    # the task's container: host network, hardened and limited as the spec says
    task_info = swarm.running_task(name)
    info = json.loads(run("inspect", task_info["Status"]["ContainerStatus"]["ContainerID"]))[0]
    host = info["HostConfig"]
    assert host["NetworkMode"] == "host"
    assert host["CapDrop"] == ["ALL"] and host["Privileged"] is False
    assert (host["Memory"], host["PidsLimit"]) == (3 * GiB, 1024)

    # a hub restart leaves the service running, and the hub finds it again
    hub.restart()
    assert hub.server_request("GET", "sally", "api/status").status_code == 200
    assert swarm.service(name)["ID"] == service["ID"]

    # stopping through the hub removes the service; the home volume stays
    hub.stop_server("sally")
    assert swarm.service(name) is None
    assert run("volume", "ls", "-q", "--filter", f"name={hub.prefix}-home-sally")


def test_gpu_lessons_without_gpu_nodes_fall_back_or_are_refused(swarm_hub, swarm):
    hub = swarm_hub
    hub.create_user("tom")
    r = hub.start_lesson("tom", "policy-check/gpu-lesson")
    assert r.status_code == 503, r.text
    assert "needs a GPU and none is free (1 GPU(s) needed, 0 of 0 free)" in r.json()["message"]
    assert swarm.service(f"{hub.prefix}-tom") is None

    # the CNN lesson also finishes on a CPU: it runs in its environment's cpu_fallback
    start(hub, "tom", "dl-basics/cnn-digits")
    spec = swarm.service(f"{hub.prefix}-tom")["Spec"]
    assert env_of(spec)["LMS_ENVIRONMENT"] == "torch"
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == "lms/pytorch:latest"
    assert not spec["TaskTemplate"]["Resources"].get("Reservations", {}).get("GenericResources")
    assert hub.server_request("GET", "tom", "api/status").status_code == 200
    hub.stop_server("tom")
    assert swarm.service(f"{hub.prefix}-tom") is None
