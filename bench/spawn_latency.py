"""Spawn → lesson notebook reachable: LessonSpawner vs plain DockerSpawner vs bare containers.

Starts two real hubs on loopback from hub_config/ (one with LessonSpawner, one with DockerSpawner
set up for host networking as its documentation describes) and alternates spawns between them on
the same image. A sample is the time from the spawn request to the lesson notebook answering 200
(token-authenticated) through the hub's proxy.

Two floors, timed from ``docker run`` to the same notebook answering 200:

- *bare singleuser*: the lesson server itself (same image, command, environment and volume as a
  LessonSpawner container, authenticating against the same hub), without the hub spawning it;
- *bare jupyter server*: a plain ``jupyter server`` of the image, with no hub integration.

Run:  .venv/bin/python bench/spawn_latency.py [--rounds 8]   (after scripts/setup-host.sh)
"""

from __future__ import annotations

import argparse
import json
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

from publish_content import publish

from tests.hubctl import Hub, free_port, network_name

IMAGE = "lms/scipy:latest"
LESSON = "dl-basics/numpy-basics"
NOTEBOOK = "dl-basics/02-numpy/numpy-basics.ipynb"
PLAIN_CONFIG = Path(__file__).with_name("plain_dockerspawner_config.py")
POLL = 0.01
USER = "bench"


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def wait_200(url: str, token: str, timeout: float = 120) -> float:
    headers = {"Authorization": f"token {token}"}
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            if requests.get(url, headers=headers, timeout=5).status_code == 200:
                return time.perf_counter()
        except requests.ConnectionError:
            pass
        time.sleep(POLL)
    raise TimeoutError(url)


def spawn_sample(hub: Hub, body: dict, keep: dict | None = None) -> float:
    t0 = time.perf_counter()
    hub.api("POST", f"/users/{USER}/server", json=body).raise_for_status()
    t1 = wait_200(f"{hub.url}/user/{USER}/api/contents/{NOTEBOOK}", hub.token)
    if keep is not None:  # the running container, as a template for the bare floor
        keep.update(json.loads(docker("inspect", f"lms-test-{hub.run_id}-{USER}"))[0])
    hub.stop_server(USER)
    return t1 - t0


def bare_run(args: list[str], url: str, token: str) -> float:
    t0 = time.perf_counter()
    cid = docker("run", "-d", "--network", "host", *args).strip()
    try:
        t1 = wait_200(url, token)
    finally:
        docker("rm", "-f", cid)
    return t1 - t0


def floor_singleuser(hub: Hub, template: dict) -> float:
    port = free_port()
    config = template["Config"]
    env = [e for e in config["Env"] if not e.startswith("JUPYTERHUB_SERVICE_URL=")]
    env.append(f"JUPYTERHUB_SERVICE_URL=http://127.0.0.1:{port}/user/{USER}/")
    args: list[str] = []
    for mount in template["Mounts"]:
        source = mount.get("Name") or mount["Source"]
        args += ["-v", f"{source}:{mount['Destination']}" + ("" if mount["RW"] else ":ro")]
    for item in env:
        args += ["-e", item]
    args += [config["Image"], *config["Cmd"]]
    return bare_run(args, f"http://127.0.0.1:{port}/user/{USER}/api/contents/{NOTEBOOK}", hub.token)


def floor_jupyter_server(volume: str) -> float:
    port = free_port()
    args = [
        "-v", f"{volume}:/home/jovyan", IMAGE,
        "jupyter", "server", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--IdentityProvider.token=bench", "--ServerApp.root_dir=/home/jovyan",
    ]
    return bare_run(args, f"http://127.0.0.1:{port}/api/contents/{NOTEBOOK}", "bench")


def report(samples: dict[str, list[float]], rounds: int) -> None:
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"\nspawn → lesson notebook reachable, median of {rounds} rounds (image {IMAGE}):")
    for name, value in med.items():
        low, high = min(samples[name]), max(samples[name])
        print(f"  {name:20s} {value:.3f} s   (min {low:.3f}, max {high:.3f})")
    lesson = med["LessonSpawner"]
    print(f"  LessonSpawner / DockerSpawner       : {lesson / med['DockerSpawner']:.3f}  (goal ≤ 1.05)")
    print(f"  LessonSpawner / bare singleuser     : {lesson / med['bare singleuser']:.3f}  (goal ≤ 1.2)")
    print(f"  LessonSpawner / bare jupyter server : {lesson / med['bare jupyter server']:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    run_id = "bench" + os.urandom(2).hex()
    volume = f"lms-test-{run_id}-home-{USER}"
    tmp = Path(tempfile.mkdtemp(prefix="lms-bench-"))
    remote = tmp / "content.git"
    publish(ROOT / "content_repo", remote, "bench content")
    lesson_hub = Hub(tmp / "lesson", str(remote), run_id)
    plain_hub = Hub(
        tmp / "plain", str(remote), run_id,
        extra_env={"LMS_EXTRA_CONFIG": str(PLAIN_CONFIG), "LMS_BENCH_IMAGE": IMAGE},
    )
    names = ("LessonSpawner", "DockerSpawner", "bare singleuser", "bare jupyter server")
    samples: dict[str, list[float]] = {name: [] for name in names}
    try:
        for hub in (lesson_hub, plain_hub):
            hub.state_dir.mkdir()
            hub.start()
            hub.create_user(USER)
        # warm-up: the first LessonSpawner start brings the notebook into the home volume,
        # which the plain DockerSpawner and the bare containers then share
        template: dict = {}
        spawn_sample(lesson_hub, {"lesson": LESSON}, keep=template)
        spawn_sample(plain_hub, {})
        floor_singleuser(lesson_hub, template)
        floor_jupyter_server(volume)
        for i in range(args.rounds):
            samples["LessonSpawner"].append(spawn_sample(lesson_hub, {"lesson": LESSON}))
            samples["DockerSpawner"].append(spawn_sample(plain_hub, {}))
            samples["bare singleuser"].append(floor_singleuser(lesson_hub, template))
            samples["bare jupyter server"].append(floor_jupyter_server(volume))
            line = ", ".join(f"{k} {v[-1]:.3f}s" for k, v in samples.items())
            print(f"round {i + 1}/{args.rounds}: {line}", flush=True)
    finally:
        lesson_hub.stop()
        plain_hub.stop()
        ids = docker("ps", "-aq", "--filter", f"name=lms-test-{run_id}").split()
        if ids:
            docker("rm", "-f", *ids)
        docker("volume", "rm", "-f", volume)
        subprocess.run(["docker", "network", "rm", network_name(run_id)], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    report(samples, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
