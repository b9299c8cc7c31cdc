"""The LMS service under load: event ingestion and the course progress matrix.

    .venv/bin/python bench/lms_service.py [--learners 200] [--batches 10] [--batch-size 10]
                                          [--matrix-learners 2000] [--lessons 60]

Starts a real JupyterHub with the LMS service (SQLite, or --db-url), on a generated course of
LESSONS lessons. Then:

1. ingestion: LEARNERS learners, each with their own hub token, send BATCHES batches of
   BATCH_SIZE events (as the server extension in each learner's container does), straight to
   the service's port: first one batch per learner every INTERVAL seconds (the offered rate,
   2,000 events/s by default), then back to back to find the saturation rate. Prints events/s
   and the p50/p99 request latency. Goal: >= 2,000 events/s with p99 <= 50 ms.
2. dashboard: MATRIX_LEARNERS learners in one cohort with progress in every lesson (rows
   written straight into the service's database), then times the course progress matrix
   (GET api/courses/<course>/progress) and the dashboard's course page (first and last page
   of learners, through the proxy with an admin's hub login). Goal: <= 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import insert
from tornado.httpclient import AsyncHTTPClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from publish_content import publish
from validate_course import make_course

from lms_extension.service.db import Progress, make_engine
from tests.hubctl import Hub, free_port, network_name
from tests.spawn.accounts import admin_login

COURSE = "generated"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def ingest(service_url: str, tokens: list[str], lessons: list[str], batches: int,
                 size: int, interval: float) -> tuple[float, list[float], int]:
    """Each learner sends ``batches`` batches, one every ``interval`` seconds (0: back to back),
    starting at a random moment of the first interval."""
    AsyncHTTPClient.configure(None, max_clients=len(tokens))
    client = AsyncHTTPClient()
    latencies: list[float] = []
    failures = 0

    async def learner(token: str) -> None:
        nonlocal failures
        loop = asyncio.get_running_loop()
        begin = loop.time() + random.uniform(0, interval)
        for number in range(batches):
            if interval:
                await asyncio.sleep(max(0.0, begin + number * interval - loop.time()))
            now = datetime.now(UTC).isoformat()
            lesson = random.choice(lessons)
            events = [{"id": str(uuid.uuid4()), "kind": "cell_executed", "course": COURSE,
                       "lesson": lesson, "at": now, "cell_id": f"c{random.randrange(20)}",
                       "ok": random.random() > 0.1, "active_seconds": 3}
                      for _ in range(size)]
            started = time.perf_counter()
            response = await client.fetch(
                f"{service_url}/events", method="POST", body=json.dumps({"events": events}),
                headers={"Authorization": f"token {token}",
                         "Content-Type": "application/json"}, raise_error=False)
            latencies.append(time.perf_counter() - started)
            failures += response.code != 200

    started = time.perf_counter()
    await asyncio.gather(*(learner(t) for t in tokens))
    return time.perf_counter() - started, latencies, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between one learner's batches (default 1: 2,000 events/s "
                             "offered by 200 learners sending 10 events each)")
    parser.add_argument("--matrix-learners", type=int, default=2000)
    parser.add_argument("--lessons", type=int, default=60)
    parser.add_argument("--db-url", help="the service's database (default: SQLite)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lms-bench-") as tmp:
        tmp = Path(tmp)
        make_course(tmp / "src" / COURSE, args.lessons, 6)
        publish(tmp / "src", tmp / "content.git", "generated course")
        db_url = args.db_url or f"sqlite:///{tmp}/lms.sqlite"
        port = free_port()
        state = tmp / "state"
        state.mkdir()
        hub = Hub(state, str(tmp / "content.git"), "bench",
                  {"LMS_SERVICE_DB_URL": db_url, "LMS_SERVICE_PORT": str(port),
                   "LMS_COHORTS": "bench-cohort", "LMS_ADMIN_USERS": "bench-admin"})
        hub.start()
        try:
            # the service's own address, as lesson servers reach it
            service_url = f"http://{hub.hub_side_ip()}:{port}/services/lms/api"
            admin = {"Authorization": f"token {hub.token}"}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if requests.get(f"{service_url}/content", headers=admin).json()["version"]:
                        break
                except (requests.ConnectionError, ValueError, KeyError):
                    pass
                time.sleep(0.3)
            lessons = [f"lesson-{n:03d}" for n in range(1, args.lessons + 1)]

            names = [f"learner-{i:04d}" for i in range(args.matrix_learners)]
            hub.api("POST", "/users", json={"usernames": names})
            tokens = [hub.api("POST", f"/users/{name}/tokens", json={}).json()["token"]
                      for name in names[: args.learners]]
            for token in tokens:  # first use: the service asks the hub about each token once
                requests.get(f"{service_url}/", headers={"Authorization": f"token {token}"})

            for label, interval in (("at the offered rate", args.interval),
                                    ("back to back (saturation)", 0.0)):
                elapsed, latencies, failures = asyncio.run(ingest(
                    service_url, tokens, lessons, args.batches, args.batch_size, interval))
                total = len(latencies) * args.batch_size
                offered = (f", offered {args.learners * args.batch_size / interval:,.0f} events/s"
                           if interval else "")
                print(f"ingestion {label}: {args.learners} learners x {args.batches} batches x "
                      f"{args.batch_size} events = {total} events in {elapsed:.2f} s{offered}")
                print(f"  {total / elapsed:,.0f} events/s; request latency p50 "
                      f"{percentile(latencies, 0.5) * 1000:.1f} ms, p99 "
                      f"{percentile(latencies, 0.99) * 1000:.1f} ms; failures {failures}")
            print("  goal: >= 2,000 events/s with p99 <= 50 ms")

            hub.api("POST", "/groups/bench-cohort")
            hub.api("POST", "/groups/bench-cohort/users", json={"users": names})
            requests.put(f"{service_url}/cohorts/bench-cohort", headers=admin, json={
                "course": COURSE, "start": "2026-01-01T00:00:00Z"})
            engine = make_engine(db_url)
            start = datetime(2026, 1, 2, tzinfo=UTC)
            rows = []
            for name in names[args.learners:]:
                for n, lesson in enumerate(lessons):
                    status = random.choice(["in_progress", "completed", "delayed"])
                    rows.append({"user": name, "course": COURSE, "lesson": lesson,
                                 "status": status, "first_opened": start + timedelta(days=n),
                                 "last_activity": start + timedelta(days=n, hours=1),
                                 "completed_at": start + timedelta(days=n, hours=1)
                                 if status == "completed" else None,
                                 "active_seconds": random.uniform(60, 3600),
                                 "cells_ok": [], "errors": 0})
            with engine.begin() as conn:
                conn.execute(insert(Progress), rows)
            times = []
            for _ in range(7):
                t0 = time.perf_counter()
                r = requests.get(f"{service_url}/courses/{COURSE}/progress", headers=admin)
                times.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
            matrix = r.json()["learners"]
            print(f"course progress matrix: {len(matrix)} learners x {args.lessons} lessons, "
                  f"{len(r.content) / 1e6:.1f} MB JSON")
            print(f"  API (compact JSON): median {statistics.median(times) * 1000:.0f} ms, "
                  f"slowest {max(times) * 1000:.0f} ms (goal <= 300 ms)")
            admin_session = admin_login(hub, "bench-admin")
            page_url = f"{hub.url}/services/lms/courses/{COURSE}"
            assert admin_session.get(page_url).status_code == 200  # completes the OAuth login
            for number in (1, 20):
                times = []
                for _ in range(7):
                    t0 = time.perf_counter()
                    r = admin_session.get(f"{page_url}?page={number}")
                    times.append(time.perf_counter() - t0)
                    assert r.status_code == 200, r.text[-300:]
                print(f"  dashboard page {number} (through the proxy, 100 learners shown): median "
                      f"{statistics.median(times) * 1000:.0f} ms, slowest "
                      f"{max(times) * 1000:.0f} ms, {len(r.content) / 1e3:.0f} kB")
        finally:
            hub.stop()
            subprocess.run(["docker", "network", "rm", network_name("bench")], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
