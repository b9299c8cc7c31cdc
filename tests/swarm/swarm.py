"""Docker Swarm on this machine for the tests: the engine's own one-node swarm, and a GPU node.

``Swarm`` makes this machine's engine a Swarm manager (``docker swarm init --advertise-addr
127.0.0.1``) unless it already is one, and leaves the swarm again afterwards only if it made it.

``GpuNode`` is a second, test-owned Docker engine that joins that swarm as a worker and
advertises GPUs as Swarm generic resources (``--node-generic-resource NVIDIA-GPU=<id>``), as a
GPU machine of a real cluster does. There is no GPU here: Swarm's scheduling of generic
resources is real (which node, which ids, never one id twice); only NVIDIA's runtime, which
would turn the assigned ids into device access, is absent. Both engines run on 127.0.0.1 with
host networking.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from ..engine_bridge import make_bridge, remove_bridge

SOCKET = "/run/lms-test-swarm-gpu-docker.sock"
BRIDGE = ("lms-test-swarm0", "10.254.253.1/24")  # see engine_bridge


def run(*args: str, host: str | None = None, check: bool = True) -> str:
    cmd = ["docker", *(["-H", host] if host else []), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
    return out.stdout.strip()


def swarm_state(host: str | None = None) -> str:
    return run("info", "--format", "{{.Swarm.LocalNodeState}}", host=host)


class Swarm:
    """This machine's engine as a Swarm manager, for as long as the tests need it."""

    def __init__(self):
        self.initialized = False
        self.made_gwbridge = False

    def start(self) -> None:
        if swarm_state() == "active":
            if run("info", "--format", "{{.Swarm.ControlAvailable}}") != "true":
                raise RuntimeError("this engine is a Swarm worker; the tests need a manager")
            return
        self.made_gwbridge = not run("network", "ls", "-q", "--filter", "name=^docker_gwbridge$")
        run("swarm", "init", "--advertise-addr", "127.0.0.1")
        self.initialized = True

    def stop(self) -> None:
        if not self.initialized:
            return
        run("swarm", "leave", "--force")
        if self.made_gwbridge:
            run("network", "rm", "docker_gwbridge", check=False)

    # -- what the tests look at ----------------------------------------------------------------

    def service(self, name: str) -> dict | None:
        out = subprocess.run(["docker", "service", "inspect", name], capture_output=True,
                             text=True, check=False)
        return json.loads(out.stdout)[0] if out.returncode == 0 else None

    def tasks(self, name: str) -> list[dict]:
        ids = run("service", "ps", "-q", "--no-trunc", name).split()
        return json.loads(run("inspect", *ids)) if ids else []

    def running_task(self, name: str) -> dict:
        (task,) = [t for t in self.tasks(name) if t["Status"]["State"] == "running"]
        return task

    def node_id(self) -> str:
        return run("info", "--format", "{{.Swarm.NodeID}}")

    def remove_services(self, prefix: str) -> None:
        names = [n for n in run("service", "ls", "--format", "{{.Name}}").split()
                 if n.startswith(prefix)]
        if names:
            run("service", "rm", *names, check=False)

    def remove_leftovers(self, prefix: str, host: str | None = None, timeout: float = 30) -> None:
        """Wait for the containers of removed services to go, then remove the volumes."""
        deadline = time.monotonic() + timeout
        while run("ps", "-aq", "--filter", f"name={prefix}", host=host, check=False):
            if time.monotonic() > deadline:
                ids = run("ps", "-aq", "--filter", f"name={prefix}", host=host).split()
                run("rm", "-f", *ids, host=host, check=False)
                break
            time.sleep(0.3)
        volumes = run("volume", "ls", "-q", "--filter", f"name={prefix}", host=host,
                      check=False).split()
        if volumes:
            run("volume", "rm", "-f", *volumes, host=host, check=False)


class GpuNode:
    """A second engine on this machine, a Swarm worker advertising ``gpus`` as generic
    resources of ``kind``."""

    def __init__(self, workdir: Path, gpus: list[str], kind: str = "NVIDIA-GPU"):
        self.workdir = workdir
        self.gpus = gpus
        self.kind = kind
        self.host = f"unix://{SOCKET}"
        self.proc: subprocess.Popen | None = None
        self.log = None
        self.node_id = ""

    def docker(self, *args: str, check: bool = True) -> str:
        return run(*args, host=self.host, check=check)

    def start(self, images: list[str]) -> None:
        resources = [arg for gpu in self.gpus
                     for arg in ("--node-generic-resource", f"{self.kind}={gpu}")]
        make_bridge(*BRIDGE)
        self.proc = subprocess.Popen(
            ["dockerd", "--data-root", "/var/lib/lms-test-swarm-gpu-docker",
             "--exec-root", "/run/lms-test-swarm-gpu-docker",
             "--pidfile", "/run/lms-test-swarm-gpu-docker.pid", "--host", self.host,
             "--bridge", BRIDGE[0], "--iptables=false", "--ip-masq=false", *resources],
            stdout=self._open_log(), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "-H", self.host, "info"], capture_output=True,
                             check=False).returncode:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the GPU node's engine did not start:\n"
                                   + (self.workdir / "dockerd.log").read_text()[-3000:])
            time.sleep(0.3)
        if swarm_state(self.host) != "inactive":  # left over from an interrupted run
            self.docker("swarm", "leave", "--force")
        for image in images:  # no registry: the worker gets the images from this engine
            if not self.docker("images", "-q", image):
                save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
                subprocess.run(["docker", "-H", self.host, "load"], stdin=save.stdout,
                               capture_output=True, check=True)
                save.wait()
        token = run("swarm", "join-token", "-q", "worker")
        self.docker("swarm", "join", "--token", token, "--listen-addr", "127.0.0.1:2378",
                    "--advertise-addr", "127.0.0.1:2378", "127.0.0.1:2377")
        self.node_id = self.docker("info", "--format", "{{.Swarm.NodeID}}")
        while run("node", "inspect", self.node_id, "--format", "{{.Status.State}}") != "ready":
            if time.monotonic() > deadline:
                raise RuntimeError("the GPU node did not become ready in the swarm")
            time.sleep(0.3)

    def _open_log(self):
        self.log = (self.workdir / "dockerd.log").open("w")
        return self.log

    def container_env(self, task: dict) -> dict[str, str]:
        """The environment of a task's container on this node."""
        container = task["Status"]["ContainerStatus"]["ContainerID"]
        env = json.loads(self.docker("inspect", container))[0]["Config"]["Env"]
        return dict(item.split("=", 1) for item in env)

    def stop(self) -> None:
        if self.node_id:
            self.docker("swarm", "leave", "--force", check=False)
            deadline = time.monotonic() + 30
            while run("node", "inspect", self.node_id, "--format", "{{.Status.State}}",
                      check=False) == "ready" and time.monotonic() < deadline:
                time.sleep(0.3)
            run("node", "rm", "--force", self.node_id, check=False)
        ids = self.docker("ps", "-aq", check=False).split()
        if ids:
            self.docker("rm", "-f", *ids, check=False)
        volumes = self.docker("volume", "ls", "-q", check=False).split()
        if volumes:
            self.docker("volume", "rm", "-f", *volumes, check=False)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        remove_bridge(BRIDGE[0])
        if self.log:
            self.log.close()
