"""The LMS service under load: event ingestion and the course progress matrix.

    .venv/bin/python bench/lms_service.py [--learners 200] [--batches 10] [--batch-size 10]
                                          [--backlog 400] [--matrix-learners 2000]
                                          [--lessons 60] [--db-url URL] [--no-matrix]
                                          [--client-processes 4]

Starts a real JupyterHub with the LMS service (SQLite, or --db-url), on a generated course of
LESSONS lessons. Then:

1. ingestion: LEARNERS learners, each with their own hub token, send BATCHES batches of
   BATCH_SIZE events (as the server extension in each learner's container does), straight to
   the service's port, from CLIENT_PROCESSES processes (each learner is a lesson server of its
   own: one client process would time its own event loop too): first one batch per learner
   every INTERVAL seconds (the offered rate, 2,000 events/s by default), then back to back.
   Then every learner's server drains a
   backlog of BACKLOG queued events (a class whose events queued while the service was away)
   in the batches its forwarder cuts: at most the forwarder's ``max_batch_events`` and
   ``max_batch_bytes`` and the service's published limits (``GET api/``), one batch at a time,
   back to back: the saturation rate. Prints events/s, events per batch, the p50/p99
   request latency, the CPU time the service spent per event and the machine's load average
   (figures taken on a shared machine are only as good as the load lets them be). Goals:
   p99 <= 50 ms at 2,000 events/s offered; >= 10,000 events/s at saturation.
2. dashboard: MATRIX_LEARNERS learners in one cohort with progress in every lesson (rows
   written straight into the service's database), then times the course progress matrix
   (GET api/courses/<course>/progress) and the dashboard's course page (first and last page
   of learners, through the proxy with an admin's hub login). Goal: <= 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import insert
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from publish_content import publish
from validate_course import make_course

from lms_extension.server.forwarder import EventForwarder, Limits, cut_batch
from lms_extension.service.db import Progress, make_engine
from tests.hubctl import Hub, free_port, network_name
from tests.spawn.accounts import admin_login

COURSE = "generated"
FORWARDER_TIMEOUT = 30  # seconds a lesson server's forwarder waits for the service's answer


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def events_of(lessons: list[str], count: int) -> list[dict]:
    """``count`` cell runs of one lesson, as the labextension reports them."""
    now = datetime.now(UTC).isoformat()
    lesson = random.choice(lessons)
    return [{"id": str(uuid.uuid4()), "kind": "cell_executed", "course": COURSE,
             "lesson": lesson, "at": now, "cell_id": f"c{random.randrange(20)}",
             "ok": random.random() > 0.1, "active_seconds": 3} for _ in range(count)]


def forwarder_limits(published: dict) -> Limits:
    """What one batch of a learner's forwarder holds: its own caps (the defaults of
    :class:`EventForwarder`) within the service's published limits, as it computes them."""
    own = inspect.signature(EventForwarder).parameters
    return Limits(min(own["max_batch_bytes"].default, published["max_body_bytes"]),
                  min(own["max_batch_events"].default, published["max_events_per_batch"]))


def cut_backlog(events: list[dict], limits: Limits) -> list[bytes]:
    """The bodies a forwarder sends to drain ``events``, in order."""
    bodies = []
    while events:
        batch, body = cut_batch(events, limits)
        bodies.append(body)
        events = events[len(batch):]
    return bodies


async def ingest(service_url: str, bodies: dict[str, list[bytes]],
                 interval: float) -> tuple[float, list[float], int, int, list[float]]:
    """Each learner (token) sends its ``bodies`` one after the other, one every ``interval``
    seconds (0: back to back, each once the previous one is answered), starting at a random
    moment of the first interval. Returns the time, the request latencies, the events the
    service took and the failures (no answer within the forwarder's timeout, answers other
    than 200, and refused events), and how late each request left (the client's own delay)."""
    AsyncHTTPClient.configure(None, max_clients=len(bodies))
    client = AsyncHTTPClient()
    latencies: list[float] = []
    late: list[float] = []
    taken = failures = 0

    async def learner(token: str, mine: list[bytes]) -> None:
        nonlocal taken, failures
        loop = asyncio.get_running_loop()
        begin = loop.time() + random.uniform(0, interval)
        for number, body in enumerate(mine):
            if interval:
                await asyncio.sleep(max(0.0, begin + number * interval - loop.time()))
                late.append(max(0.0, loop.time() - (begin + number * interval)))
            started = time.perf_counter()
            try:
                response = await client.fetch(
                    f"{service_url}/events", method="POST", body=body,
                    headers={"Authorization": f"token {token}",
                             "Content-Type": "application/json"},
                    request_timeout=FORWARDER_TIMEOUT, raise_error=False)
            except HTTPClientError:  # no answer in time: the forwarder gives up and resends
                response = None
            latencies.append(time.perf_counter() - started)
            if response is None or response.code != 200:
                failures += 1
                continue
            result = json.loads(response.body)
            taken += len(result["taken"])
            failures += len(result["refused"])

    started = time.perf_counter()
    await asyncio.gather(*(learner(t, mine) for t, mine in bodies.items()))
    return time.perf_counter() - started, latencies, taken, failures, late


def _client(service_url: str, bodies: dict[str, list[bytes]], interval: float,
            start_at: float) -> tuple:
    """One client process: waits for the common start, then runs :func:`ingest`; returns its
    outcome and when it ended (wall clock)."""
    time.sleep(max(0.0, start_at - time.time()))
    outcome = asyncio.run(ingest(service_url, bodies, interval))
    return outcome, time.time()


def ingest_from(processes: int, service_url: str, bodies: dict[str, list[bytes]],
                interval: float) -> tuple[float, list[float], int, int, list[float]]:
    """:func:`ingest`, the learners shared out over ``processes`` client processes started
    together (each learner is a lesson server of its own; one client process for all of them
    would measure its own event loop as well as the service)."""
    tokens = list(bodies)
    shares = [{t: bodies[t] for t in tokens[n::processes]} for n in range(processes)]
    start_at = time.time() + 1.0
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        done = list(pool.map(_client, [service_url] * processes, shares,
                             [interval] * processes, [start_at] * processes))
    latencies = [x for outcome, _ in done for x in outcome[1]]
    late = [x for outcome, _ in done for x in outcome[4]]
    return (max(end for _, end in done) - start_at, latencies,
            sum(outcome[2] for outcome, _ in done), sum(outcome[3] for outcome, _ in done), late)


def cpu_seconds(pid: int | None) -> float | None:
    """The CPU time (user and system) process ``pid`` has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def service_pid(hub_pid: int) -> int | None:
    """The LMS service the hub started (a child process of the hub)."""
    for task in Path(f"/proc/{hub_pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            if b"lms_extension.service" in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
    return None


def measured(pid: int | None, run) -> tuple:
    """``run()``'s outcome, with the service's CPU seconds meanwhile and the load average."""
    before = cpu_seconds(pid)
    outcome = run()
    after = cpu_seconds(pid)
    cpu = after - before if before is not None and after is not None else None
    return (*outcome, cpu, os.getloadavg()[0])


def report(label: str, bodies: dict[str, list[bytes]], outcome: tuple, offered: str = "") -> None:
    elapsed, latencies, taken, failures, late, cpu, load = outcome
    sizes = [body.count(b'"id":') for mine in bodies.values() for body in mine]
    print(f"ingestion {label}: {len(bodies)} learners, {len(sizes)} batches of "
          f"{statistics.mean(sizes):.0f} events (largest {max(sizes)}), {sum(sizes)} events "
          f"in {elapsed:.2f} s{offered}")
    print(f"  {taken / elapsed:,.0f} events/s taken; request latency p50 "
          f"{percentile(latencies, 0.5) * 1000:.1f} ms, p99 "
          f"{percentile(latencies, 0.99) * 1000:.1f} ms; failures {failures}")
    if late:
        print(f"  requests left the client late by p50 {percentile(late, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(late, 0.99) * 1000:.1f} ms (not counted in the latency)")
    if cpu is not None and taken:
        print(f"  service CPU {cpu / taken * 1e6:.0f} us/event ({cpu / elapsed:.0%} of one "
              f"core); load average {load:.2f} on {os.cpu_count()} CPUs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between one learner's batches (default 1: 2,000 events/s "
                             "offered by 200 learners sending 10 events each)")
    parser.add_argument("--backlog", type=int, default=400,
                        help="events queued in each learner's server for the saturation run "
                             "(default 400: within the default events_per_minute quota of "
                             "600 left after the runs before)")
    parser.add_argument("--client-processes", type=int, default=4,
                        help="processes the learners' requests are sent from (default 4)")
    parser.add_argument("--matrix-learners", type=int, default=2000)
    parser.add_argument("--no-matrix", action="store_true",
                        help="only the ingestion runs, not the progress matrix and dashboard")
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

            pid = service_pid(hub.proc.pid)
            for label, interval in (("at the offered rate", args.interval),
                                    ("back to back", 0.0)):
                bodies = {t: [json.dumps({"events": events_of(lessons, args.batch_size)})
                              .encode() for _ in range(args.batches)] for t in tokens}
                offered = (f", offered {args.learners * args.batch_size / interval:,.0f} events/s"
                           if interval else "")
                report(label, bodies, measured(pid, lambda: ingest_from(
                    args.client_processes, service_url, bodies, interval)), offered)
            limits = forwarder_limits(requests.get(f"{service_url}/", headers=admin).json()[
                "limits"])
            bodies = {t: cut_backlog(events_of(lessons, args.backlog), limits) for t in tokens}
            report("draining a backlog (saturation)", bodies,
                   measured(pid, lambda: ingest_from(args.client_processes, service_url,
                                                     bodies, 0.0)))
            print("  goals: p99 <= 50 ms at 2,000 events/s offered; >= 10,000 events/s at "
                  "saturation")
            if args.no_matrix:
                return 0

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
