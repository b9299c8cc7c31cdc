"""Run code in a learner's kernel the way JupyterLab does: the Jupyter server's REST API starts
the kernel, and its websocket channel, through the hub's proxy, carries the execute request and
the kernel's output back."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


@dataclass
class Execution:
    """What one execute request did: ``status`` is ``ok``, ``error`` (an exception in the
    code), ``died`` (the kernel was killed and restarts, or the server went away) or
    ``timeout``."""

    status: str
    stdout: str = ""
    error: str = ""  # "ename: evalue"
    events: list[str] = field(default_factory=list)  # kernel states seen, e.g. "restarting"


class Kernel:
    """A kernel of ``user``'s server, started through the hub's proxy with the hub's token."""

    def __init__(self, hub, user: str, server: str = ""):
        self.hub, self.user, self.server = hub, user, server
        r = hub.server_request("POST", user, "api/kernels", server=server, json={"name": "python3"})
        assert r.status_code == 201, r.text
        self.id = r.json()["id"]

    def channels_url(self) -> str:
        origin = self.hub.user_url(self.user) if hasattr(self.hub, "user_url") else self.hub.url
        prefix = f"/user/{self.user}/{self.server + '/' if self.server else ''}"
        return (f"{origin.replace('http', 'ws', 1)}{prefix}api/kernels/{self.id}/channels"
                f"?session_id={uuid.uuid4().hex}")

    def run(self, code: str, timeout: float = 120) -> Execution:
        return asyncio.run(self._run(code, timeout))

    async def _run(self, code: str, timeout: float) -> Execution:
        request = HTTPRequest(self.channels_url(),
                              headers={"Authorization": f"token {self.hub.token}"},
                              connect_timeout=30, request_timeout=timeout)
        ws = await websocket_connect(request, max_message_size=64 * 2**20)
        msg_id = uuid.uuid4().hex
        ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": self.user,
                       "session": uuid.uuid4().hex, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        result = Execution(status="timeout")
        stdout: list[str] = []
        replied = idle = False  # the reply (shell) may come before the output (iopub)
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    raw = await asyncio.wait_for(ws.read_message(), left)
                except asyncio.TimeoutError:
                    break
                if raw is None:  # the server closed the channel
                    result.status = "died"
                    break
                msg = json.loads(raw)
                kind, content = msg["header"]["msg_type"], msg.get("content", {})
                if kind == "status" and content.get("execution_state") in ("restarting", "dead"):
                    result.events.append(content["execution_state"])
                    result.status = "died"
                    break
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if kind == "stream" and content.get("name") == "stdout":
                    stdout.append(content["text"])
                elif kind == "error":
                    result.error = f"{content['ename']}: {content['evalue']}"
                elif kind == "execute_reply":
                    result.status = content["status"]
                    replied = True
                elif kind == "status" and content.get("execution_state") == "idle":
                    idle = True  # the kernel sends it after all of the request's output
                if replied and idle:
                    break
        finally:
            ws.close()
        result.stdout = "".join(stdout)
        return result

    def shutdown(self) -> None:
        self.hub.server_request("DELETE", self.user, f"api/kernels/{self.id}", server=self.server)


class Bystanders(threading.Thread):
    """While an attack runs: ask the hub's API and another learner's server, every half second,
    whether they answer; ``failures`` lists every time one did not (in 10 s, with 200)."""

    def __init__(self, hub, other_user: str):
        super().__init__(daemon=True)
        self.hub, self.other = hub, other_user
        self.checks = 0
        self.failures: list[str] = []
        self._done = threading.Event()

    def check_once(self) -> None:
        origin = self.hub.user_url(self.other) if hasattr(self.hub, "user_url") else self.hub.url
        for what, url in (
            ("hub API", f"{self.hub.api_url}/users/{self.other}"),
            (f"{self.other}'s server", f"{origin}/user/{self.other}/api/status"),
        ):
            try:
                status = requests.get(url, headers={"Authorization": f"token {self.hub.token}"},
                                      timeout=10).status_code
            except requests.RequestException as exc:  # a timeout or a refused connection too
                status = repr(exc)
            if status != 200:
                self.failures.append(f"{what}: {status}")
        self.checks += 1

    def run(self) -> None:
        while not self._done.is_set():
            self.check_once()
            self._done.wait(0.5)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self.join(30)
        self.check_once()  # and once more, after the attack
