"""Spawn → lesson notebook reachable: LessonSpawner vs plain DockerSpawner vs a bare container.

Starts two real hubs on loopback from hub_config/ (one with LessonSpawner, one with DockerSpawner
set up for host networking as its docs describe), and alternates spawns between them on the same
image. Each sample is the time from the spawn request to the lesson notebook answering 200
through the hub's proxy. The floor is ``docker run`` of the same image running a Jupyter server,
timed until its contents API serves the notebook.

Run:  .venv/bin/python bench/spawn_latency.py [--rounds 8]   (after scripts/setup-host.sh)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from publish_content import publish  # noqa: E402
from tests.hubctl import Hub, free_port  # noqa: E402

IMAGE = "lms/scipy:latest"
LESSON = "dl-basics/numpy-basics"
NOTEBOOK = "dl-basics/02-numpy/numpy-basics.ipynb"
PLAIN_CONFIG = Path(__file__).with_name("plain_dockerspawner_config.py")
POLL = 0.01


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def wait_200(url: str, headers: dict, timeout: float = 120) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            if requests.get(url, headers=headers, timeout=5).status_code == 200:
                return time.perf_counter()
        except requests.ConnectionError:
            pass
        time.sleep(POLL)
    raise TimeoutError(url)


def spawn_sample(hub: Hub, user: str, body: dict) -> float:
    t0 = time.perf_counter()
    r = hub.api("POST", f"/users/{user}/server", json=body)
    r.raise_for_status()
    t1 = wait_200(
        f"{hub.url}/user/{user}/api/contents/{NOTEBOOK}",
        {"Authorization": f"token {hub.token}"},
    )
    hub.stop_server(user)
    return t1 - t0


def floor_sample(volume: str) -> float:
    port = free_port()
    t0 = time.perf_counter()
    cid = docker(
        "run", "-d", "--network", "host", "-v", f"{volume}:/home/jovyan", IMAGE,
        "jupyter", "server", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--IdentityProvider.token=bench", "--ServerApp.root_dir=/home/jovyan",
    ).strip()
    try:
        t1 = wait_200(
            f"http://127.0.0.1:{port}/api/contents/{NOTEBOOK}",
            {"Authorization": "token bench"},
        )
    finally:
        docker("rm", "-f", cid)
    return t1 - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    run_id = "bench" + os.urandom(2).hex()
    tmp = Path(tempfile.mkdtemp(prefix="lms-bench-"))
    remote = tmp / "content.git"
    publish(ROOT / "content_repo", remote, "bench content")
    lesson_hub = Hub(tmp / "lesson", str(remote), run_id)
    plain_hub = Hub(
        tmp / "plain", str(remote), run_id,
        extra_env={"LMS_EXTRA_CONFIG": str(PLAIN_CONFIG), "LMS_BENCH_IMAGE": IMAGE},
    )
    for hub in (lesson_hub, plain_hub):
        hub.state_dir.mkdir()
    samples: dict[str, list[float]] = {"LessonSpawner": [], "DockerSpawner": [], "bare container": []}
    try:
        lesson_hub.start()
        plain_hub.start()
        for hub in (lesson_hub, plain_hub):
            hub.create_user("bench")
        # warm-up: the first LessonSpawner start brings the notebook into the home volume,
        # which the plain DockerSpawner and the bare container then share
        spawn_sample(lesson_hub, "bench", {"lesson": LESSON})
        spawn_sample(plain_hub, "bench", {})
        floor_sample(f"lms-test-{run_id}-home-bench")
        for i in range(args.rounds):
            samples["LessonSpawner"].append(spawn_sample(lesson_hub, "bench", {"lesson": LESSON}))
            samples["DockerSpawner"].append(spawn_sample(plain_hub, "bench", {}))
            samples["bare container"].append(floor_sample(f"lms-test-{run_id}-home-bench"))
            print(
                f"round {i + 1}/{args.rounds}: "
                + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in samples.items()),
                flush=True,
            )
    finally:
        lesson_hub.stop()
        plain_hub.stop()
        ids = docker("ps", "-aq", "--filter", f"name=lms-test-{run_id}").split()
        if ids:
            docker("rm", "-f", *ids)
        docker("volume", "rm", "-f", f"lms-test-{run_id}-home-bench")
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"\nspawn → notebook reachable, median of {args.rounds} (image {IMAGE}):")
    for name, value in med.items():
        print(f"  {name:15s} {value:.3f} s   (min {min(samples[name]):.3f}, max {max(samples[name]):.3f})")
    print(f"  ratio LessonSpawner / DockerSpawner : {med['LessonSpawner'] / med['DockerSpawner']:.3f}  (goal ≤ 1.05)")
    print(f"  ratio LessonSpawner / bare container: {med['LessonSpawner'] / med['bare container']:.3f}  (goal ≤ 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
