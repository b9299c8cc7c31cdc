"""Learner events through crashes: nothing may be lost or counted twice.

    .venv/bin/python bench/chaos.py [--learners 200] [--seconds 60] [--rate 2]

A real hub runs the LMS service (SQLite) on the demo course. Each simulated learner has what
their lesson server's extension has: a home folder with the durable event queue, the home's
forwarding lease and the forwarder (``lms_extension.server``), sending to the LMS service's own
address (as lesson containers do) with a hub token scoped like a lesson server's. Every learner
writes events into their queue (``--rate`` batches of 5 a second: lessons opened, cells run with
active time) while the forwarders run every second, as in a lesson server.

Meanwhile the LMS service is killed with SIGKILL twice (the hub starts it again) and the hub is
restarted once. Then the learners stop writing and the bench waits until every queue is empty.
It prints events sent, stored, missing and doubled (read from the service's database: event rows
and the active seconds summed into progress), the refusals, and the time until the backlog
drained after the last write (goal: 0 missing, 0 doubled).
"""

from __future__ import annotations

import argparse
import asyncio
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from publish_content import publish  # noqa: E402

from lms_extension.server.forwarder import EventForwarder  # noqa: E402
from lms_extension.server.http import TokenClient  # noqa: E402
from lms_extension.server.lease import HomeLease  # noqa: E402
from lms_extension.server.queue import EventQueue  # noqa: E402
from tests.hubctl import Hub, network_name  # noqa: E402

LESSONS = ["python-basics", "numpy-basics", "pandas-exploration", "linear-regression"]


class Learner:
    def __init__(self, name: str, home: Path, service_url: str, token: str):
        self.name = name
        queue = EventQueue(home / ".local/share/lms/events.sqlite")
        lease = HomeLease(home / ".local/share/lms/events.lock", holder=name)
        self.forwarder = EventForwarder(queue, TokenClient(service_url, token), lease,
                                        max_pause=8.0)
        self.sent: dict[str, float] = {}  # event id -> active seconds

    def write(self, count: int = 5) -> None:
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
            self.sent[event["id"]] = seconds
        self.forwarder.queue.put(events)

    def queued(self) -> int:
        return self.forwarder.queue.counts()["queued"]


def service_pid(hub: Hub) -> int | None:
    out = subprocess.run(["pgrep", "-f", "-P", str(hub.proc.pid), "lms_extension.service"],
                         capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


def kill_service(hub: Hub) -> str:
    pid = service_pid(hub)
    if pid is None:
        return "no LMS service process to kill"
    os.kill(pid, signal.SIGKILL)
    return f"SIGKILL to the LMS service (pid {pid})"


async def run(args, hub: Hub, learners: list[Learner]) -> dict:
    loop = asyncio.get_running_loop()
    stop_writing = asyncio.Event()
    log: list[str] = []
    t0 = time.monotonic()

    def note(text: str) -> None:
        line = f"{time.monotonic() - t0:6.1f}s {text}"
        log.append(line)
        print(line, flush=True)

    async def writer(learner: Learner) -> None:
        await asyncio.sleep(random.uniform(0, 1))
        while not stop_writing.is_set():
            learner.write()
            await asyncio.sleep(1 / args.rate)

    async def forwarding(learner: Learner) -> None:
        await asyncio.sleep(random.uniform(0, 1))
        while True:
            try:
                await learner.forwarder.flush()
            except Exception as exc:  # noqa: BLE001 - a bench reports, it does not stop
                note(f"{learner.name}: forwarder raised {exc!r}")
            await asyncio.sleep(1.0)

    async def chaos() -> None:
        step = args.seconds / 4
        await asyncio.sleep(step)
        note(kill_service(hub))
        await asyncio.sleep(step)
        note(kill_service(hub))
        await asyncio.sleep(step)
        note("restarting the hub")
        await loop.run_in_executor(None, hub.restart)
        note("the hub answers again")

    writers = [asyncio.ensure_future(writer(learner)) for learner in learners]
    forwarders = [asyncio.ensure_future(forwarding(learner)) for learner in learners]
    chaos_task = asyncio.ensure_future(chaos())
    await asyncio.sleep(args.seconds)
    await chaos_task
    stop_writing.set()
    await asyncio.gather(*writers)
    last_write = time.monotonic()
    note("learners stopped writing; waiting for the queues to drain")
    deadline = last_write + args.drain_timeout
    while time.monotonic() < deadline:
        backlog = sum(learner.queued() for learner in learners)
        if backlog == 0:
            break
        await asyncio.sleep(0.5)
    drained = time.monotonic() - last_write
    for task in forwarders:
        task.cancel()
    return {"drain_seconds": drained, "backlog": sum(learner.queued() for learner in learners),
            "log": log}


def count_stored(db: Path, learners: list[Learner]) -> dict:
    sent = {i: s for learner in learners for i, s in learner.sent.items()}
    with sqlite3.connect(db) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM events")]
        progress = conn.execute("SELECT COALESCE(SUM(active_seconds), 0) FROM progress").fetchone()[0]
    stored = set(ids)
    refused = sum(learner.forwarder.queue.counts()["refused"] for learner in learners)
    return {
        "sent": len(sent),
        "stored": len(stored & set(sent)),
        "missing": len(set(sent) - stored),
        "doubled rows": len(ids) - len(stored),
        "active seconds sent": round(sum(sent.values()), 1),
        "active seconds counted": round(progress, 1),
        "refused": refused,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="how long learners write events (the crashes fall inside)")
    parser.add_argument("--rate", type=float, default=1.0, help="batches of 5 per learner per second")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
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
            learners = []
            for number in range(args.learners):
                name = f"chaos{number:03d}"
                hub.create_user(name)
                r = hub.api("POST", f"/users/{name}/tokens",
                            json={"scopes": ["access:services!service=lms"], "note": "chaos"})
                r.raise_for_status()
                learners.append(Learner(name, tmp / "homes" / name, service_url,
                                        r.json()["token"]))
            print(f"{len(learners)} learners, {args.seconds:.0f} s of events at "
                  f"{args.rate * 5 * len(learners):.0f} events/s offered", flush=True)
            result = asyncio.run(run(args, hub, learners))
        finally:
            hub.stop()
        figures = count_stored(tmp / "hub" / "lms" / "lms.sqlite", learners)
    finally:
        subprocess.run(["docker", "network", "rm", network_name(run_id)], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    print(f"{'backlog left':>24}: {result['backlog']}")
    print(f"{'drained after':>24}: {result['drain_seconds']:.1f} s after the last write")
    ok = figures["missing"] == 0 and figures["doubled rows"] == 0 and abs(
        figures["active seconds sent"] - figures["active seconds counted"]) < 1.0
    print("goal (0 missing, 0 doubled):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
