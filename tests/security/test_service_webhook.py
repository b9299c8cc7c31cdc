"""Attacks on the content webhook, the LMS service's one route without a hub token: a huge body,
malformed signatures, a replayed delivery (also after a restart), and a burst of deliveries that
would run git fetches into the same mirror at once.

A real hub runs the service (SQLite) and it follows a real git remote; the remote's
``git upload-pack`` is wrapped to take a while and to record when each fetch starts and ends.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from ..hubctl import Hub

SECRET = "webhook-secret-of-the-attack-tests"
LIMIT = 1024 * 1024  # LmsService.webhook_max_body_bytes, default


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def webhook_hub(content_remote, run_id, tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("webhook-hub"), str(content_remote), f"{run_id}-hook",
              {"LMS_WEBHOOK_SECRET": SECRET})
    hub.start()
    hub.lms_api = f"{hub.service_url('lms')}/api"
    deadline = time.monotonic() + 60
    while True:
        try:
            r = requests.get(f"{hub.lms_api}/content", timeout=10,
                             headers={"Authorization": f"token {hub.token}"})
            if r.ok and r.json()["version"]:
                break
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            hub.stop()
            raise AssertionError(f"no content published:\n{hub.log_tail(80)}")
        time.sleep(0.3)
    yield hub
    hub.stop()


def deliver(hub: Hub, body: bytes, signature: str | bytes | None = "sign",
            delivery: str | None = "new") -> requests.Response:
    headers = {}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signed(body) if signature == "sign" else signature
    if delivery is not None:
        headers["X-GitHub-Delivery"] = str(uuid.uuid4()) if delivery == "new" else delivery
    return requests.post(f"{hub.lms_api}/content/webhook", data=body, headers=headers,
                         timeout=60)


def raw_post(url: str, head: dict[str, str], body_parts, timeout: float = 20) -> bytes:
    """POST with a raw socket: send the headers, then ``body_parts`` until the server answers
    (or stops reading); return what it answered."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    try:
        lines = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}",
                 *(f"{k}: {v}" for k, v in head.items()), "", ""]
        sock.sendall("\r\n".join(lines).encode())
        sock.setblocking(False)
        answer = b""
        for part in body_parts:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            if answer:
                break
            try:
                sock.setblocking(True)
                sock.sendall(part)
                sock.setblocking(False)
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        sock.settimeout(timeout)
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer
    finally:
        sock.close()


def test_a_huge_body_is_refused_before_it_is_read(webhook_hub):
    url = f"{webhook_hub.lms_api}/content/webhook"
    started = time.monotonic()
    # it claims 2 GiB and sends 1 KiB: a server that read the body first would never answer
    answer = raw_post(url, {"Content-Length": str(2 << 30), "X-Hub-Signature-256": signed(b""),
                            "X-GitHub-Delivery": str(uuid.uuid4())}, [b"x" * 1024])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"webhook_max_body_bytes" in answer
    assert time.monotonic() - started < 10
    # a chunked body with no length is cut off once it passes the limit: the service answers
    # and closes the connection (sent to the service itself, at its address in the hub's
    # configuration: the proxy reports a connection closed under a body it still sends as 503)
    service = webhook_hub.api("GET", "/services/lms").json()["url"]
    chunk = b"y" * 65536
    framed = (b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(64 * LIMIT // len(chunk)))
    answer = raw_post(f"{service}/services/lms/api/content/webhook",
                      {"Transfer-Encoding": "chunked", "X-Hub-Signature-256": signed(b""),
                       "X-GitHub-Delivery": str(uuid.uuid4())}, framed)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert time.monotonic() - started < 20
    # at the limit, a body is still read and judged by its signature
    assert deliver(webhook_hub, b" " * LIMIT, signature="sha256=" + "0" * 64).status_code == 401


MALFORMED = [
    None,  # missing
    "",
    "sha256=",
    "sha1=" + "a" * 40,
    "sha256=" + "a" * 63,
    "sha256=" + "a" * 65,
    "sha256=" + "é" * 64,  # not ASCII (latin-1 in the header)
    "sha256=" + "ü" * 32,  # not ASCII, UTF-8 bytes in the header
    "SHA256=" + "a" * 64,
    "sha256=" + "a" * 64 + "x",
    "sha256=" + "g" * 64,
    "sha256=" + "a" * 64 + ", sha256=" + "b" * 64,
    "sha256=" + "a" * 64,  # well formed, wrong
]


@pytest.mark.parametrize("signature", MALFORMED, ids=[repr(s)[:24] for s in MALFORMED])
def test_any_malformed_signature_gets_401(webhook_hub, signature):
    since = len(webhook_hub.log_path.read_bytes())
    body = b'{"ref": "refs/heads/main"}'
    value = signature.encode("utf-8") if signature and "ü" in signature else signature
    r = deliver(webhook_hub, body, signature=value)
    assert r.status_code == 401, (r.status_code, r.text)
    assert "X-Hub-Signature-256" in r.json()["message"]
    # and nothing went wrong inside the service on the way
    log = webhook_hub.log_path.read_bytes()[since:].decode(errors="replace")
    assert "Traceback" not in log and "Uncaught exception" not in log, log


def test_a_replayed_delivery_is_refused_even_after_a_restart(webhook_hub):
    body = b'{"ref": "refs/heads/main", "after": "%s"}' % uuid.uuid4().hex.encode()
    delivery = str(uuid.uuid4())
    assert deliver(webhook_hub, body, delivery=delivery).status_code == 200
    again = deliver(webhook_hub, body, delivery=delivery)
    assert again.status_code == 409 and "replay" in again.json()["message"]
    # the same signed body under a fresh delivery id, or the id with another signed body
    assert deliver(webhook_hub, body).status_code == 409
    assert deliver(webhook_hub, body + b" ", delivery=delivery).status_code == 409
    missing = deliver(webhook_hub, body + b"  ", delivery=None)
    assert missing.status_code == 400 and "X-GitHub-Delivery" in missing.json()["message"]
    webhook_hub.restart()
    deadline = time.monotonic() + 60
    while True:  # the service restarts with the hub
        try:
            r = deliver(webhook_hub, body, delivery=delivery)
            if r.status_code < 500:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, webhook_hub.log_tail(60)
        time.sleep(0.3)
    assert r.status_code == 409, r.text


SLOW_UPLOAD_PACK = """#!/bin/sh
echo "start $$ $(date +%s.%N)" >> {log}
sleep 0.4
git upload-pack "$@"
status=$?
echo "end $$ $(date +%s.%N)" >> {log}
exit $status
"""


def test_concurrent_deliveries_sync_one_at_a_time(webhook_hub, tmp_path):
    log = tmp_path / "upload-pack.log"
    wrapper = tmp_path / "slow-upload-pack"
    wrapper.write_text(SLOW_UPLOAD_PACK.format(log=log))
    wrapper.chmod(0o755)
    mirror = webhook_hub.state_dir / "lms" / "lms-content" / "mirror.git"
    subprocess.run(["git", "--git-dir", str(mirror), "config", "remote.origin.uploadpack",
                    str(wrapper)], check=True)
    admin = {"Authorization": f"token {webhook_hub.token}"}

    def one(number: int) -> int:
        if number % 4 == 3:  # admins' manual syncs share the same queue
            return requests.post(f"{webhook_hub.lms_api}/content/sync", headers=admin,
                                 timeout=120).status_code
        body = b'{"ref": "refs/heads/main", "n": %d, "r": "%s"}' % (number, uuid.uuid4().hex.encode())
        return deliver(webhook_hub, body).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(one, range(12)))
    assert statuses == [200] * 12, statuses
    events = [line.split() for line in log.read_text().splitlines()]
    spans: dict[str, list[float]] = {}
    for kind, pid, at in events:
        spans.setdefault(pid, [0.0, 0.0])[kind == "end"] = float(at)
    ordered = sorted(spans.values())
    assert ordered and all(end > 0 for _, end in ordered), events
    for (_, end), (start, _) in zip(ordered, ordered[1:], strict=False):
        assert start >= end, f"two git processes in the mirror at once: {ordered}"
    # each sync runs upload-pack twice (fetch, then the remote's default branch): the 12
    # requests shared a few syncs rather than running one each
    assert len(ordered) <= 2 * 4, ordered
