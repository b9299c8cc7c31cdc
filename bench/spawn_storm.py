"""A class starts at once: LEARNERS learners spawn the same lesson through the hub together.

    .venv/bin/python bench/spawn_storm.py [--learners 30] [--lesson dl-basics/python-basics]

Real hub, real containers (host networking, 127.0.0.1). Every learner's spawn is sent at the
same moment; meanwhile a probe calls the hub's REST API (GET /hub/api/users/<name>) in a loop.
Prints the failures (goal 0), the time until every server is ready, and the probe's latency
(p50/p99; goal p99 <= 1 s). Stops and removes everything it started.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from publish_content import publish

from tests.hubctl import Hub, network_name


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--lesson", default="dl-basics/python-basics")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    run = f"storm{int(time.time()) % 100000}"
    with tempfile.TemporaryDirectory(prefix="lms-storm-") as tmp:
        tmp = Path(tmp)
        publish(ROOT / "content_repo", tmp / "content.git", "storm")
        state = tmp / "state"
        state.mkdir()
        hub = Hub(state, str(tmp / "content.git"), run, {"LMS_IDLE_TIMEOUT": "0"})
        hub.start()
        users = [f"s{i:03d}" for i in range(args.learners)]
        hub.api("POST", "/users", json={"usernames": users})
        latencies: list[float] = []
        stop = threading.Event()

        def probe() -> None:
            while not stop.is_set():
                t0 = time.perf_counter()
                hub.api("GET", f"/users/{users[0]}")
                latencies.append(time.perf_counter() - t0)
                time.sleep(0.05)

        prober = threading.Thread(target=probe)
        try:
            prober.start()
            started = time.perf_counter()
            with ThreadPoolExecutor(len(users)) as pool:
                answers = list(pool.map(lambda u: hub.start_lesson(u, args.lesson), users))
            accepted = [u for u, r in zip(users, answers) if r.status_code in (201, 202)]
            failures = len(users) - len(accepted)
            ready: dict[str, float] = {}
            while len(ready) < len(accepted) and time.perf_counter() - started < args.timeout:
                models = {m["name"]: m for m in hub.api("GET", "/users").json()}
                for user in accepted:
                    server = models.get(user, {}).get("servers", {}).get("")
                    if user not in ready and server and server.get("ready"):
                        ready[user] = time.perf_counter() - started
                time.sleep(0.2)
            stop.set()
            prober.join()
            failures += len(accepted) - len(ready)
            print(f"{args.learners} learners spawning {args.lesson} at once:")
            print(f"  failures: {failures} (goal 0)")
            if ready:
                print(f"  all ready after {max(ready.values()):.1f} s "
                      f"(median learner {statistics.median(ready.values()):.1f} s)")
            print(f"  hub API meanwhile ({len(latencies)} calls): p50 "
                  f"{percentile(latencies, 0.5) * 1000:.0f} ms, p99 "
                  f"{percentile(latencies, 0.99) * 1000:.0f} ms (goal p99 <= 1000 ms)")
        finally:
            stop.set()
            if prober.is_alive():
                prober.join()
            with ThreadPoolExecutor(10) as pool:
                list(pool.map(lambda u: hub.api("DELETE", f"/users/{u}/server"), users))
            hub.stop()
            names = subprocess.run(["docker", "ps", "-aq", "--filter", f"name=lms-test-{run}"],
                                   capture_output=True, text=True).stdout.split()
            if names:
                subprocess.run(["docker", "rm", "-f", *names], capture_output=True)
            volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter",
                                      f"name=lms-test-{run}"], capture_output=True,
                                     text=True).stdout.split()
            if volumes:
                subprocess.run(["docker", "volume", "rm", "-f", *volumes], capture_output=True)
            subprocess.run(["docker", "network", "rm", network_name(run)], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
