"""Shared fixtures: a real Docker engine, a real git content remote and a real JupyterHub."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# a real Jupyter Server for the server extension's handler tests (tests/lab)
pytest_plugins = ["pytest_jupyter.jupyter_server"]

from .hubctl import ROOT, Hub

sys.path.insert(0, str(ROOT / "scripts"))
from publish_content import publish

LESSON_IMAGES = ("lms/base:latest", "lms/scipy:latest", "lms/pytorch:latest")

POLICY_COURSE = """\
slug: policy-check
title: Policy <check> & "escaping"
environments:
  untrusted: {image: "untrusted/image:latest"}
  ok: {image: "lms/base:latest"}
  gpu: {image: "lms/base:latest", gpu: 1}
default_environment: ok
lessons:
  - slug: bad-image
    title: Uses an image outside the policy
    notebooks: [lesson.ipynb]
    environment: untrusted
  - slug: markup
    title: <script>alert('title')</script> & friends
    notebooks: [markup.ipynb]
  - slug: gpu-lesson
    title: Needs a GPU and has no CPU fallback
    notebooks: [gpu.ipynb]
    environment: gpu
"""


def docker(*args: str, check: bool = True) -> str:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if check and out.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout.strip()


@pytest.fixture(scope="session")
def run_id() -> str:
    return os.urandom(3).hex()


@pytest.fixture(scope="session", autouse=True)
def _remove_run_leftovers(run_id):
    """At the end of the session, whatever Docker objects the run's hubs left: containers,
    home volumes and lesson networks (every name starts with ``lms-test-<run_id>``)."""
    yield
    if shutil.which("docker"):
        _cleanup_docker(run_id)


def pytest_configure(config):
    """Before any container starts: Chromium beside the Docker engine must not take container
    starts for network changes (:mod:`tests.browser.host_network`)."""
    from .browser.host_network import quiet_container_addresses

    problem = quiet_container_addresses()
    if problem:
        config.issue_config_time_warning(pytest.PytestWarning(problem), stacklevel=2)


@pytest.fixture(scope="session")
def docker_engine():
    """The Docker engine and the lesson images, which scripts/test.sh installs and builds."""
    if shutil.which("docker") is None or subprocess.run(
        ["docker", "info"], capture_output=True
    ).returncode:
        pytest.fail("no Docker engine answers: run the tests with scripts/test.sh")
    missing = [i for i in LESSON_IMAGES if not docker("images", "-q", i)]
    if missing:
        pytest.fail(f"lesson images missing ({', '.join(missing)}): run images/build.py")


@pytest.fixture(scope="session")
def content_remote(tmp_path_factory) -> Path:
    """A bare git remote holding the demo course plus a course that tests the image policy."""
    src = tmp_path_factory.mktemp("content-src")
    shutil.copytree(ROOT / "content_repo", src, dirs_exist_ok=True)
    policy = src / "policy-check"
    policy.mkdir()
    (policy / "course.yaml").write_text(POLICY_COURSE)
    for notebook in ("lesson.ipynb", "markup.ipynb", "gpu.ipynb"):  # one notebook per lesson
        shutil.copy(ROOT / "content_repo/dl-basics/01-python/python-basics.ipynb", policy / notebook)
    remote = tmp_path_factory.mktemp("remote") / "content.git"
    publish(src, remote, "Initial course")
    return remote


def _cleanup_docker(run_id: str) -> None:
    prefix = f"lms-test-{run_id}"
    ids = docker("ps", "-aq", "--filter", f"name={prefix}", check=False).split()
    if ids:
        docker("rm", "-f", *ids, check=False)
    vols = docker("volume", "ls", "-q", "--filter", f"name={prefix}", check=False).split()
    if vols:
        docker("volume", "rm", "-f", *vols, check=False)
    nets = docker("network", "ls", "-q", "--filter", f"name={prefix}", check=False).split()
    if nets:
        docker("network", "rm", *nets, check=False)


@pytest.fixture(scope="session")
def hub(docker_engine, content_remote, run_id, tmp_path_factory):
    state = tmp_path_factory.mktemp("hub-state")
    hub = Hub(state, str(content_remote), run_id, {"LMS_TEST_KEEP_CONTAINERS": "1"})
    hub.start()
    yield hub
    hub.stop()
    _cleanup_docker(run_id)


def run_containers(run_id: str) -> list[str]:
    return docker("ps", "-a", "--format", "{{.Names}}", "--filter", f"name=lms-test-{run_id}").split()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    hub = item.funcargs.get("hub")
    sections = []
    if isinstance(hub, Hub):
        sections.append(("hub log (last 150 lines)", hub.log_tail(150)))
        for name in run_containers(hub.run_id):
            logs = subprocess.run(
                ["docker", "logs", "--tail", "60", name], capture_output=True, text=True
            )
            sections.append((f"container {name} log", logs.stdout + logs.stderr))
    for title, text in sections:
        report.sections.append((title, text))
