"""The hub's calls to the Docker engine for lesson servers run side by side (``docker_threads``):
when a class starts at once, a call that takes its time does not hold up the calls of every
other learner's start (plain DockerSpawner makes one call at a time)."""

from __future__ import annotations

import asyncio
import time

from traitlets.config import Config

from lms_spawner.lesson_spawner import LessonSpawner

from ..conftest import docker


def slow_and_quick(spawner: LessonSpawner, container: str) -> tuple[float, float]:
    """Seconds until a quick call answers while a slow one (waiting for ``container`` to exit)
    is under way, and until the slow one answers."""

    async def calls():
        began = time.monotonic()
        slow = spawner.docker("wait", container)
        await asyncio.sleep(0.2)  # the slow call is with the engine
        await spawner.docker("inspect_container", container)
        quick = time.monotonic() - began
        await slow
        return quick, time.monotonic() - began

    return asyncio.run(calls())


def test_a_slow_docker_call_does_not_hold_up_the_others(docker_engine, run_id):
    name = f"lms-test-{run_id}-slow-call"
    container = docker("run", "-d", "--name", name, "--network", "none", "--entrypoint",
                       "sleep", "lms/base:latest", "4")
    try:
        spawner = LessonSpawner(config=Config())
        assert spawner.docker_threads == 8
        quick, slow = slow_and_quick(spawner, container)
        assert slow >= 3, slow  # the container did take its time
        assert quick < 2, f"a quick call waited {quick:.1f} s behind a slow one"
    finally:
        docker("rm", "-f", container, check=False)


def test_one_docker_thread_makes_the_calls_queue(docker_engine, run_id):
    """What the setting changes: with one thread (plain DockerSpawner's way) the quick call
    waits for the slow one."""
    name = f"lms-test-{run_id}-one-thread"
    container = docker("run", "-d", "--name", name, "--network", "none", "--entrypoint",
                       "sleep", "lms/base:latest", "3")
    config = Config()
    config.LessonSpawner.docker_threads = 1

    class OneThread(LessonSpawner):  # a class of its own: the executor is per class
        _executor = None

    try:
        quick, slow = slow_and_quick(OneThread(config=config), container)
        assert quick >= slow - 0.5, (quick, slow)
    finally:
        docker("rm", "-f", container, check=False)
