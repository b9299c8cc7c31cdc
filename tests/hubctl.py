"""A real JupyterHub for tests: started as a subprocess from hub_config/, on free loopback ports."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
HUB_CONFIG = ROOT / "hub_config" / "jupyterhub_config.py"
TEST_CONFIG = Path(__file__).resolve().parent / "hub_test_config.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def network_name(run_id: str) -> str:
    """The lesson network of a test hub (removed with the run's containers)."""
    return f"lms-test-{run_id}-lessons"


def free_subnet() -> str:
    """A /24 in 10.214.0.0/16 that no Docker network of this engine uses."""
    ids = subprocess.run(["docker", "network", "ls", "-q"], capture_output=True, text=True).stdout
    used = subprocess.run(
        ["docker", "network", "inspect", "--format",
         "{{range .IPAM.Config}}{{.Subnet}} {{end}}", *ids.split()],
        capture_output=True, text=True,
    ).stdout.split()
    for third in random.sample(range(256), 256):
        subnet = f"10.214.{third}.0/24"
        if subnet not in used:
            return subnet
    raise RuntimeError("no free /24 in 10.214.0.0/16 for a test lesson network")


_SUBNETS: dict[str, str] = {}  # hubs of one run_id share their network


class Hub:
    """Start, stop and restart a JupyterHub process; call its REST API with an admin token."""

    def __init__(self, state_dir: Path, content_repo: str, run_id: str, extra_env=None):
        self.state_dir = state_dir
        self.run_id = run_id
        self.token = os.urandom(16).hex()
        self.log_path = state_dir / "jupyterhub.log"
        self.env = {
            **os.environ,
            "LMS_STATE_DIR": str(state_dir),
            "LMS_HUB_PORT": str(free_port()),
            "LMS_HUB_API_PORT": str(free_port()),
            "LMS_PROXY_API_URL": f"http://127.0.0.1:{free_port()}",
            "LMS_SERVICE_PORT": str(free_port()),
            "LMS_CONTENT_REPO": content_repo,
            "LMS_EXTRA_CONFIG": str(TEST_CONFIG),
            "LMS_TEST_RUN_ID": run_id,
            "LMS_TEST_ADMIN_TOKEN": self.token,
            **(extra_env or {}),
        }
        self.port = int(self.env["LMS_HUB_PORT"])  # extra_env may choose the ports
        # per-user origins are the platform's default; suites that are not about them run
        # without, and reach every server and service under one host name
        self.env.setdefault("LMS_SUBDOMAIN_HOST", "off")
        self.subdomains = self.env["LMS_SUBDOMAIN_HOST"] != "off"
        host = "localhost" if self.subdomains else "127.0.0.1"
        self.url = f"http://{host}:{self.port}"
        self.api_url = f"{self.url}/hub/api"
        if self.env.get("LMS_HOST_NETWORKING", "0") != "1" and "LMS_NETWORK" not in self.env:
            name = network_name(run_id)
            if name not in _SUBNETS:
                _SUBNETS[name] = free_subnet()
            self.env.update(LMS_NETWORK=name, LMS_NETWORK_SUBNET=_SUBNETS[name])
        self.proc: subprocess.Popen | None = None

    # -- process -----------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        log = open(self.log_path, "a")
        log.write(f"\n===== hub start {time.strftime('%H:%M:%S')} =====\n")
        log.flush()
        bindir = str(Path(sys.executable).parent)
        env = {**self.env, "PATH": f"{bindir}:{self.env.get('PATH', '')}"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG)],
            cwd=self.state_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.api_url}/", timeout=5).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy
                pass
            time.sleep(0.2)
        raise RuntimeError(f"jupyterhub did not answer in {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 200) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no hub log)"

    # -- REST API ----------------------------------------------------------------------------

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {token or self.token}"}
        return requests.request(method, f"{self.api_url}{path}", headers=headers, timeout=60, **kwargs)

    def create_user(self, name: str) -> None:
        r = self.api("POST", f"/users/{name}")
        assert r.status_code in (201, 409), r.text

    def wait_ready(self, user: str, server: str = "", timeout: float = 120) -> dict:
        """Wait until the user's server is ready; return its model."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{user}").json()
            srv = model.get("servers", {}).get(server)
            if srv and srv.get("ready"):
                return srv
            if srv is None and time.monotonic() > deadline - timeout + 5:
                raise AssertionError(f"server {user}/{server!r} is gone:\n{self.log_tail(60)}")
            time.sleep(0.2)
        raise AssertionError(f"server {user}/{server!r} not ready in {timeout}s")

    def start_lesson(self, user: str, lesson, server: str = "", body=None) -> requests.Response:
        path = f"/users/{user}/servers/{server}" if server else f"/users/{user}/server"
        return self.api("POST", path, json=body if body is not None else {"lesson": lesson})

    def stop_server(self, user: str, server: str = "", timeout: float = 60) -> None:
        path = f"/users/{user}/servers/{server}" if server else f"/users/{user}/server"
        r = self.api("DELETE", path)
        assert r.status_code in (202, 204), r.text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            srv = self.api("GET", f"/users/{user}").json().get("servers", {}).get(server)
            if not srv:
                return
            time.sleep(0.2)
        raise AssertionError(f"server {user}/{server!r} did not stop")

    def hub_side_ip(self) -> str:
        """Where lesson servers reach the hub's API and the LMS service: the lesson network's
        gateway (with host networking, the loopback)."""
        if "LMS_NETWORK" not in self.env:
            return "127.0.0.1"
        return subprocess.run(
            ["docker", "network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}",
             self.env["LMS_NETWORK"]], capture_output=True, text=True, check=True,
        ).stdout.strip()

    def user_url(self, user: str) -> str:
        """Where the user's servers are served: their own origin with per-user origins."""
        return f"http://{user}.localhost:{self.port}" if self.subdomains else self.url

    def service_url(self, name: str) -> str:
        """Where the service ``name`` is served (``…/services/<name>``)."""
        origin = f"http://{name}--service.localhost:{self.port}" if self.subdomains else self.url
        return f"{origin}/services/{name}"

    def server_request(self, method: str, user: str, path: str, server: str = "", **kwargs):
        """Call a path of the user's server through the proxy, with the admin token."""
        prefix = f"/user/{user}/{server + '/' if server else ''}"
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{self.user_url(user)}{prefix}{path}", headers=headers, timeout=30, **kwargs
        )
