"""A second, test-owned Docker engine that can start GPU containers without a GPU.

Docker hands ``--gpus`` device requests to the NVIDIA container hook when it finds
``nvidia-container-runtime-hook`` on its PATH. This engine's PATH has a stand-in hook that does
nothing (there is no GPU here), so containers with real device requests start, and
``docker inspect`` shows which device ids each one was given. Everything else is a real engine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from ..engine_bridge import make_bridge, remove_bridge

SOCKET = "/run/lms-test-gpu-docker.sock"
BRIDGE = ("lms-test-gpu0", "10.254.254.1/24")  # see engine_bridge
HOOK = "#!/bin/sh\n# stand-in for the NVIDIA container hook: no GPU on this machine\ncat >/dev/null\n"


class GpuEngine:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.host = f"unix://{SOCKET}"
        self.proc: subprocess.Popen | None = None

    def docker(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "-H", self.host, *args], capture_output=True,
                              text=True, **kwargs)

    def start(self, images: list[str]) -> None:
        hooks = self.workdir / "hooks"
        hooks.mkdir(parents=True, exist_ok=True)
        hook = hooks / "nvidia-container-runtime-hook"
        hook.write_text(HOOK)
        hook.chmod(0o755)
        env = {**os.environ, "PATH": f"{hooks}:{os.environ['PATH']}"}
        make_bridge(*BRIDGE)
        self.proc = subprocess.Popen(
            ["dockerd", "--data-root", "/var/lib/lms-test-gpu-docker",
             "--exec-root", "/run/lms-test-gpu-docker", "--pidfile", "/run/lms-test-gpu-docker.pid",
             "--host", self.host, "--bridge", BRIDGE[0], "--iptables=false", "--ip-masq=false"],
            env=env, stdout=open(self.workdir / "dockerd.log", "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while self.docker("info").returncode:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the GPU test engine did not start:\n"
                                   + (self.workdir / "dockerd.log").read_text()[-3000:])
            time.sleep(0.3)
        for image in images:
            if self.docker("image", "inspect", image).returncode:
                save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
                subprocess.run(["docker", "-H", self.host, "load"], stdin=save.stdout,
                               capture_output=True, check=True)
                save.wait()

    def inspect(self, name: str) -> dict:
        out = self.docker("inspect", name)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)[0]

    def stop(self) -> None:
        ids = self.docker("ps", "-aq").stdout.split()
        if ids:
            self.docker("rm", "-f", *ids)
        volumes = self.docker("volume", "ls", "-q").stdout.split()
        if volumes:
            self.docker("volume", "rm", "-f", *volumes)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        remove_bridge(BRIDGE[0])
