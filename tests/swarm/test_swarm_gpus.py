"""GPU lessons on a Swarm: GPUs are Swarm generic resources, and the Swarm scheduler places them.

A second, test-owned Docker engine joins this machine's swarm as a worker and advertises two
GPUs (``dockerd --node-generic-resource NVIDIA-GPU=<id>``); this machine's engine advertises none.
The scheduling is Swarm's own and real: a GPU lesson's service reserves one ``NVIDIA-GPU``, so
its task can only run on the GPU node, which assigns it one of its ids (``DOCKER_RESOURCE_NVIDIA-GPU``
in the container's environment) and never the same id to two tasks. There is no GPU here, so
nothing turns that id into device access (NVIDIA's runtime does that on a real GPU node): the
tests check the reservation in the service spec, the node, and the ids assigned.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from ..spawn.accounts import login
from .swarm import GpuNode, run

LESSON = "policy-check/gpu-lesson"  # lms/base with gpu: 1, no CPU fallback
GPUS = ["GPU-5a1f0c1e-test", "GPU-9b2e7d3f-test"]
RESERVATION = [{"DiscreteResourceSpec": {"Kind": "NVIDIA-GPU", "Value": 1}}]


@pytest.fixture(scope="module")
def gpu_node(swarm, tmp_path_factory):
    node = GpuNode(tmp_path_factory.mktemp("swarm-gpu-node"), GPUS)
    try:
        node.start(["lms/base:latest"])
        yield node
    finally:
        node.stop()


def assigned_gpus(task: dict) -> list[str]:
    resources = task.get("AssignedGenericResources") or task.get("GenericResources") or []
    return [r["NamedResourceSpec"]["Value"] for r in resources if "NamedResourceSpec" in r]


def spawn_form(hub, session) -> str:
    """The spawn form the hub shows a learner logged in with ``session``."""
    r = session.get(f"{hub.url}/hub/spawn", timeout=30)
    assert r.status_code == 200 and "lms-lesson-picker" in r.text, r.text[-2000:]
    return r.text


def gpu_of(hub, swarm, gpu_node, user: str) -> str:
    """The GPU id Swarm gave the user's lesson server, after checking how it got there."""
    name = f"{hub.prefix}-{user}"
    spec = swarm.service(name)["Spec"]["TaskTemplate"]
    assert spec["Resources"]["Reservations"]["GenericResources"] == RESERVATION
    assert "--ServerApp.shutdown_no_activity_timeout=900" in spec["ContainerSpec"]["Args"]
    task = swarm.running_task(name)
    assert task["NodeID"] == gpu_node.node_id  # the only node with GPUs
    (gpu,) = assigned_gpus(task)
    assert gpu_node.container_env(task)["DOCKER_RESOURCE_NVIDIA-GPU"] == gpu
    return gpu


def test_gpu_lessons_get_distinct_gpus_of_the_gpu_node(swarm_hub, swarm, gpu_node):
    hub = swarm_hub
    users = ["gpuann", "gpubob", "gpucid"]
    for user in users:
        hub.create_user(user)
    with ThreadPoolExecutor(len(users)) as pool:
        answers = dict(zip(users, pool.map(lambda u: hub.start_lesson(u, LESSON), users)))
    started = [u for u, r in answers.items() if r.status_code in (201, 202)]
    refused = [u for u, r in answers.items() if r.status_code == 503]
    assert (len(started), len(refused)) == (2, 1), {u: r.text for u, r in answers.items()}
    message = answers[refused[0]].json()["message"]
    assert "needs a GPU and none is free (1 GPU(s) needed, 0 of 2 free)" in message

    held = {}
    for user in started:
        hub.wait_ready(user)
        assert hub.server_request("GET", user, "api/status").status_code == 200
        held[user] = gpu_of(hub, swarm, gpu_node, user)
    assert sorted(held.values()) == sorted(GPUS)
    learner = login(hub.url, "gpuform")  # a learner on the spawn page sees how many are free
    assert "GPU: 0 of 2 GPUs free" in spawn_form(hub, learner)

    # stopping removes the service and frees its GPU for the learner refused a moment ago
    hub.stop_server(started[0])
    assert swarm.service(f"{hub.prefix}-{started[0]}") is None
    assert "GPU: 1 of 2 GPUs free" in spawn_form(hub, learner)
    r = hub.start_lesson(refused[0], LESSON)
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(refused[0])
    assert gpu_of(hub, swarm, gpu_node, refused[0]) == held[started[0]]
    for user in (started[1], refused[0]):
        hub.stop_server(user)
        assert swarm.service(f"{hub.prefix}-{user}") is None


def test_a_service_no_node_can_take_is_refused_with_the_schedulers_reason(
        swarm_hub, swarm, gpu_node):
    """The hub counts the GPU node's GPUs as free, but the deployment's placement rule
    (swarm_test_config.py) keeps lessons off nodes labelled ``lms-test-no-lessons=true``: the
    scheduler keeps the service pending, and the spawn is refused with its reason."""
    hub = swarm_hub
    hub.create_user("gpudan")
    run("node", "update", "--label-add", "lms-test-no-lessons=true", gpu_node.node_id)
    try:
        r = hub.start_lesson("gpudan", LESSON)
        assert r.status_code == 503, r.text
        message = r.json()["message"]
        assert "no node of the Swarm can run lesson 'policy-check/gpu-lesson' now" in message
        assert "no suitable node" in message
        assert swarm.service(f"{hub.prefix}-gpudan") is None
        assert hub.api("GET", "/users/gpudan").json()["servers"] == {}
    finally:
        run("node", "update", "--label-rm", "lms-test-no-lessons", gpu_node.node_id)
    # its GPU was given back to the hub's books: the next start gets one
    r = hub.start_lesson("gpudan", LESSON)
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("gpudan")
    assert gpu_of(hub, swarm, gpu_node, "gpudan") in GPUS
    hub.stop_server("gpudan")
