"""Learner events through crashes: nothing may be lost or counted twice.

    .venv/bin/python bench/chaos.py [--learners 200] [--seconds 60] [--rate 1] [--in-process]

A real hub runs the LMS service (SQLite) on the demo course. Each simulated learner has a lesson
server of their own: a real Jupyter Server process with the platform's server extension
(``lms_extension``, nothing else), its own home folder, and a hub token scoped like a lesson
server's, forwarding to the LMS service's own address as lesson containers do. Every learner
posts event batches to their server's ``/lms/api/events`` (``--rate`` batches of 5 a second:
lessons opened, cells run with active time), where the extension queues them durably and its
forwarder sends them on. (``--in-process`` runs each learner's queue, lease and forwarder in this
process instead of a server of its own: lighter, the same forwarding code.)

Meanwhile the LMS service is killed with SIGKILL twice (the hub starts it again) and the hub is
restarted once. Then the learners stop and the bench waits until every queue is empty. It prints
events sent, stored, missing and doubled (read from the service's database: event rows and the
active seconds summed into progress), the refusals, and the time until the backlog drained after
the last event was posted (goal: 0 missing, 0 doubled).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from publish_content import publish  # noqa: E402

from lms_extension.server.forwarder import EventForwarder  # noqa: E402
from lms_extension.server.http import TokenClient  # noqa: E402
from lms_extension.server.lease import HomeLease  # noqa: E402
from lms_extension.server.queue import EventQueue  # noqa: E402
from tests.hubctl import Hub, free_port, network_name  # noqa: E402

LESSONS = ["python-basics", "numpy-basics", "pandas-exploration", "linear-regression"]


CONFIG = """c = get_config()
# the platform's server extension and nothing else (no JupyterLab): a lesson server's event path
c.ServerApp.jpserver_extensions = {"lms_extension": True, "jupyterlab": False, "jupyter_lsp": False,
    "jupyter_server_terminals": False, "notebook_shim": False, "nbgitpuller": False}
"""


def make_events(sent: dict[str, float], count: int = 5) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    lesson = random.choice(LESSONS)
    events = []
    for _ in range(count):
        seconds = round(random.uniform(1, 30), 3)
        event = {"id": str(uuid.uuid4()), "course": "dl-basics", "lesson": lesson,
                 "at": now, "active_seconds": seconds}
        if random.random() < 0.2:
            event["kind"] = "lesson_opened"
        else:
            event.update(kind="cell_executed", cell_id=f"c{random.randrange(40)}",
                         ok=random.random() < 0.9)
        events.append(event)
        sent[event["id"]] = seconds
    return events


class InProcessLearner:
    """A learner's queue, lease and forwarder in this process."""

    def __init__(self, name: str, home: Path, service_url: str, token: str):
        self.name = name
        queue = EventQueue(home / ".local/share/lms/events.sqlite")
        lease = HomeLease(home / ".local/share/lms/events.lock", holder=name)
        self.forwarder = EventForwarder(queue, TokenClient(service_url, token), lease,
                                        max_pause=8.0)
        self.sent: dict[str, float] = {}  # event id -> active seconds

    async def start(self) -> None:
        self._task = asyncio.ensure_future(self._forward())

    async def _forward(self) -> None:
        await asyncio.sleep(random.uniform(0, 1))
        while True:
            await self.forwarder.flush()
            await asyncio.sleep(1.0)

    async def write(self) -> None:
        self.forwarder.queue.put(make_events(self.sent))

    async def backlog(self) -> int:
        return self.forwarder.queue.counts()["queued"]

    async def refused(self) -> int:
        return self.forwarder.queue.counts()["refused"]

    def stop(self) -> None:
        self._task.cancel()


class ServerLearner:
    """A learner with a real Jupyter Server process running the platform's server extension,
    posting events to it the way JupyterLab does (a batch is kept until the server takes it)."""

    def __init__(self, name: str, home: Path, service_url: str, token: str, config: Path):
        self.name, self.home = name, home
        home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.secret = uuid.uuid4().hex
        self.url = f"http://127.0.0.1:{self.port}/lms/api/events"
        self.sent: dict[str, float] = {}
        self.pending: list[dict] = []  # what the browser still holds
        env = {**os.environ, "HOME": str(home), "JUPYTERHUB_USER": name,
               "JUPYTERHUB_API_TOKEN": token, "LMS_SERVICE_URL": service_url,
               "LMS_COURSE": "dl-basics"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--config={config}", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
             "--ServerApp.port_retries=0", "--ServerApp.open_browser=False",
             f"--IdentityProvider.token={self.secret}", f"--ServerApp.root_dir={home}"],
            env=env, cwd=home, stdout=open(home / "server.log", "w"), stderr=subprocess.STDOUT)

    def _request(self, method: str, body: str | None = None) -> HTTPRequest:
        return HTTPRequest(self.url, method=method, body=body, request_timeout=30,
                           headers={"Authorization": f"token {self.secret}",
                                    "Content-Type": "application/json"})

    async def start(self) -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}'s server exited: "
                                   + (self.home / "server.log").read_text()[-2000:])
            try:
                await AsyncHTTPClient().fetch(self._request("GET"))
                return
            except (OSError, HTTPClientError):
                await asyncio.sleep(0.5)
        raise RuntimeError(f"{self.name}'s server did not answer")

    async def write(self) -> None:
        self.pending += make_events(self.sent)
        await self.send_pending()

    async def send_pending(self) -> None:
        if not self.pending:
            return
        batch = self.pending[:100]
        try:
            response = await AsyncHTTPClient().fetch(
                self._request("POST", json.dumps({"events": batch})))
        except (OSError, HTTPClientError):
            return  # kept, sent again with the next batch, like JupyterLab's queue
        taken = set(json.loads(response.body)["taken"])
        refused = {r["id"] for r in json.loads(response.body)["refused"]}
        self.pending = [e for e in self.pending if e["id"] not in taken | refused]

    async def status(self) -> dict:
        response = await AsyncHTTPClient().fetch(self._request("GET"))
        return json.loads(response.body)

    async def backlog(self) -> int:
        await self.send_pending()
        try:
            return len(self.pending) + (await self.status())["queued"]
        except (OSError, HTTPClientError):
            return len(self.pending) + 1

    async def refused(self) -> int:
        return (await self.status())["refused"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def service_pid(hub: Hub) -> int | None:
    out = subprocess.run(["pgrep", "-f", "-P", str(hub.proc.pid), "lms_extension.service"],
                         capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


def kill_service(hub: Hub, wait: float = 120.0) -> str:
    """SIGKILL to the LMS service, once the hub has (re)started it."""
    deadline = time.monotonic() + wait
    while (pid := service_pid(hub)) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    if pid is None:
        return f"no LMS service process to kill after {wait:.0f} s"
    os.kill(pid, signal.SIGKILL)
    return f"SIGKILL to the LMS service (pid {pid})"


async def run(args, hub: Hub, learners: list) -> dict:
    loop = asyncio.get_running_loop()
    stop_writing = asyncio.Event()
    log: list[str] = []
    t0 = time.monotonic()

    def note(text: str) -> None:
        line = f"{time.monotonic() - t0:6.1f}s {text}"
        log.append(line)
        print(line, flush=True)

    async def writer(learner) -> None:
        await asyncio.sleep(random.uniform(0, 1))
        while not stop_writing.is_set():
            try:
                await learner.write()
            except Exception as exc:  # noqa: BLE001 - a bench reports, it does not stop
                note(f"{learner.name}: writing raised {exc!r}")
            await asyncio.sleep(1 / args.rate)

    async def chaos() -> None:
        step = args.seconds / 4
        await asyncio.sleep(step)
        note(await loop.run_in_executor(None, kill_service, hub))
        await asyncio.sleep(step)
        note(await loop.run_in_executor(None, kill_service, hub))
        await asyncio.sleep(step)
        note("restarting the hub")
        await loop.run_in_executor(None, hub.restart)
        note("the hub answers again")

    writers = [asyncio.ensure_future(writer(learner)) for learner in learners]
    chaos_task = asyncio.ensure_future(chaos())
    await asyncio.sleep(args.seconds)
    await chaos_task
    stop_writing.set()
    await asyncio.gather(*writers)
    last_write = time.monotonic()
    note("learners stopped writing; waiting for the queues to drain")
    deadline = last_write + args.drain_timeout
    backlog = None
    while time.monotonic() < deadline:
        backlog = sum(await asyncio.gather(*(learner.backlog() for learner in learners)))
        if backlog == 0:
            break
        await asyncio.sleep(0.5)
    drained = time.monotonic() - last_write
    refused = sum(await asyncio.gather(*(learner.refused() for learner in learners)))
    return {"drain_seconds": drained, "backlog": backlog, "refused": refused, "log": log}


async def session(args, hub: Hub, tmp: Path, service_url: str, tokens: dict,
                  learners: list) -> dict:
    AsyncHTTPClient.configure(None, max_clients=max(10, len(tokens)))
    t0 = time.monotonic()
    for name, token in tokens.items():
        home = tmp / "homes" / name
        if args.in_process:
            learners.append(InProcessLearner(name, home, service_url, token))
        else:
            learners.append(ServerLearner(name, home, service_url, token,
                                          tmp / "server_config.py"))
        if len(learners) % 20 == 0:  # start the servers twenty at a time
            await asyncio.gather(*(learner.start() for learner in learners[-20:]))
    await asyncio.gather(*(learner.start() for learner in learners[len(learners) // 20 * 20:]))
    kind = "in-process forwarders" if args.in_process else "lesson server processes"
    print(f"{len(learners)} learners with {kind}, ready after {time.monotonic() - t0:.0f} s; "
          f"{args.seconds:.0f} s of events at {args.rate * 5 * len(learners):.0f} events/s "
          "offered", flush=True)
    return await run(args, hub, learners)


def count_stored(db: Path, learners: list) -> dict:
    sent = {i: s for learner in learners for i, s in learner.sent.items()}
    with sqlite3.connect(db) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM events")]
        progress = conn.execute("SELECT COALESCE(SUM(active_seconds), 0) FROM progress").fetchone()[0]
    stored = set(ids)
    return {
        "sent": len(sent),
        "stored": len(stored & set(sent)),
        "missing": len(set(sent) - stored),
        "doubled rows": len(ids) - len(stored),
        "active seconds sent": round(sum(sent.values()), 1),
        "active seconds counted": round(progress, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="how long learners write events (the crashes fall inside)")
    parser.add_argument("--rate", type=float, default=1.0, help="batches of 5 per learner per second")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--in-process", action="store_true",
                        help="learners' queues and forwarders in this process, no servers")
    args = parser.parse_args()

    run_id = f"chaos{os.urandom(2).hex()}"
    tmp = Path(tempfile.mkdtemp(prefix="lms-chaos-"))
    try:
        publish(ROOT / "content_repo", tmp / "content.git", "chaos")
        (tmp / "hub").mkdir()
        hub = Hub(tmp / "hub", str(tmp / "content.git"), run_id, {"LMS_IDLE_TIMEOUT": "0"})
        hub.start()
        try:
            service_url = f"http://{hub.hub_side_ip()}:{hub.env['LMS_SERVICE_PORT']}/services/lms"
            tokens = {}
            for number in range(args.learners):
                name = f"chaos{number:03d}"
                hub.create_user(name)
                r = hub.api("POST", f"/users/{name}/tokens",
                            json={"scopes": ["access:services!service=lms"], "note": "chaos"})
                r.raise_for_status()
                tokens[name] = r.json()["token"]
            (tmp / "server_config.py").write_text(CONFIG)
            learners = []
            result = asyncio.run(session(args, hub, tmp, service_url, tokens, learners))
        finally:
            for learner in learners:
                learner.stop()
            hub.stop()
        figures = count_stored(tmp / "hub" / "lms" / "lms.sqlite", learners)
    finally:
        subprocess.run(["docker", "network", "rm", network_name(run_id)], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    print(f"{'refused':>24}: {result['refused']}")
    print(f"{'backlog left':>24}: {result['backlog']}")
    print(f"{'drained after':>24}: {result['drain_seconds']:.1f} s after the last write")
    ok = figures["missing"] == 0 and figures["doubled rows"] == 0 and abs(
        figures["active seconds sent"] - figures["active seconds counted"]) < 1.0
    print("goal (0 missing, 0 doubled):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
