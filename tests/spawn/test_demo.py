"""The README's demo command brings up the platform with the demo course on localhost, each
learner's server on its own origin (``<name>.localhost``) and on the private lesson network."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from urllib.parse import urlparse

import pytest
import requests

from ..conftest import docker
from ..hubctl import ROOT, free_port, free_subnet, network_name
from .accounts import login, open_lesson


@pytest.fixture
def demo(docker_engine, tmp_path, run_id):
    port = free_port()
    user = f"demo{run_id}"
    log = open(tmp_path / "demo.log", "w")
    env = {
        **os.environ,
        "LMS_STATE_DIR": str(tmp_path / "state"),
        "LMS_HUB_PORT": str(port),
        "LMS_HUB_API_PORT": str(free_port()),
        "LMS_PROXY_API_URL": f"http://127.0.0.1:{free_port()}",
        # the demo's own network settings, named for this run so that it can be removed after
        "LMS_NETWORK": network_name(f"{run_id}-demo"),
        "LMS_NETWORK_SUBNET": free_subnet(),
    }
    for name in ("LMS_CONTENT_REPO", "LMS_EXTRA_CONFIG", "LMS_SUBDOMAIN_HOST", "LMS_HOST_NETWORKING",
                 "LMS_ADMIN_USERS"):
        env.pop(name, None)
    proc = subprocess.Popen(
        ["bash", "scripts/demo.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "demo.log").read_text()[-5000:]
            try:
                if requests.get(f"{url}/hub/api/", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        yield url, user
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        docker("rm", "-f", f"jupyter-{user}", check=False)
        docker("volume", "rm", "-f", f"lms-home-{user}", check=False)
        docker("network", "rm", env["LMS_NETWORK"], check=False)
        print((tmp_path / "demo.log").read_text()[-5000:])


def test_demo_command_serves_the_demo_course(demo):
    url, user = demo
    session = login(url, user)
    r = open_lesson(url, session, user, "dl-basics/python-basics")
    assert r.status_code == 200, r.text[-2000:]
    assert urlparse(r.url).path == f"/user/{user}/lab/tree/dl-basics/01-python/python-basics.ipynb"
    info = json.loads(docker("inspect", f"jupyter-{user}"))[0]
    assert info["Config"]["Image"] == "lms/base:latest"
    # JupyterLab is served from the learner's own origin
    assert urlparse(r.url).netloc == f"{user}.localhost:{urlparse(url).port}"
    nb = session.get(
        f"http://{user}.localhost:{urlparse(url).port}/user/{user}/api/contents/"
        "dl-basics/01-python/python-basics.ipynb", timeout=30
    )
    assert nb.status_code == 200
    assert nb.json()["content"]["cells"][0]["source"].startswith("# Python basics")
