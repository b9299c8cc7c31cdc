"""What a learner's client does besides the browser, for the benchmarks: ask a lesson kernel
for its ``kernel_info`` over its websocket (as JupyterLab does when it opens a notebook), and
keep the hub's session cookie as a browser does."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClosedError, websocket_connect


async def kernel_info(base: str, kernel_id: str, token: str, timeout: float = 30) -> None:
    """Connect to a kernel as JupyterLab does and wait for its answer to kernel_info."""
    url = base.replace("http", "ws", 1) + f"/kernels/{kernel_id}/channels"
    conn = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"},
                                               connect_timeout=timeout,
                                               request_timeout=timeout))
    try:
        msg_id = uuid.uuid4().hex
        conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "kernel_info_request", "username": "",
                       "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "content": {}, "channel": "shell",
            "buffers": []}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            raw = await asyncio.wait_for(conn.read_message(), deadline - time.monotonic())
            if raw is None:
                raise WebSocketClosedError("the kernel's channels closed")
            msg = json.loads(raw)
            if msg.get("channel") == "iopub" and msg.get("parent_header", {}).get(
                    "msg_id") == msg_id and msg["content"].get("execution_state") == "idle":
                return
        raise asyncio.TimeoutError()
    finally:
        conn.close()


def host_cookies(session: requests.Session) -> None:
    """Send the cookies the hub sets for ``Domain=localhost`` (its session id) to localhost
    itself, as a browser does (Python's cookie jar keeps them for ``.localhost`` only, and the
    hub then sees a new session, and a new XSRF token, at every request)."""
    for cookie in list(session.cookies):
        if cookie.domain == ".localhost":
            session.cookies.set(cookie.name, cookie.value, domain="localhost.local",
                                path=cookie.path)
