"""Fixtures of the Swarm tests: this engine as a Swarm manager and a real hub that spawns
lessons as Swarm services (``LMS_SPAWNER=swarm``, host networking on 127.0.0.1)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ..hubctl import Hub
from .swarm import Swarm

CONFIG = Path(__file__).resolve().parent / "swarm_test_config.py"


@pytest.fixture(scope="session")
def swarm(docker_engine):
    swarm = Swarm()
    swarm.start()
    yield swarm
    swarm.stop()


@pytest.fixture(scope="session")
def swarm_hub(swarm, content_remote, run_id, tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("swarm-hub"), str(content_remote), f"{run_id}-swarm",
              {"LMS_SPAWNER": "swarm", "LMS_EXTRA_CONFIG": str(CONFIG), "LMS_IDLE_TIMEOUT": "0",
               "LMS_HOST_NETWORKING": "1"})
    hub.prefix = f"lms-test-{run_id}-swarm"
    hub.start()
    yield hub
    hub.stop()
    swarm.remove_services(hub.prefix)
    swarm.remove_leftovers(hub.prefix)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    hub = item.funcargs.get("swarm_hub")
    if report.when != "call" or not report.failed or not isinstance(hub, Hub):
        return
    report.sections.append(("hub log (last 150 lines)", hub.log_tail(150)))
    names = subprocess.run(["docker", "service", "ls", "--format", "{{.Name}}"],
                           capture_output=True, text=True, check=False).stdout.split()
    for name in (n for n in names if n.startswith(hub.prefix)):
        tasks = subprocess.run(["docker", "service", "ps", "--no-trunc", name],
                               capture_output=True, text=True, check=False)
        logs = subprocess.run(["docker", "service", "logs", "--tail", "60", name],
                              capture_output=True, text=True, check=False)
        report.sections.append((f"service {name}", tasks.stdout + logs.stdout + logs.stderr))
