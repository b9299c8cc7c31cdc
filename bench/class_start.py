"""A class starts: LEARNERS learners open the same lesson from the spawn form at the same moment.

    .venv/bin/python bench/class_start.py [--learners 100] [--lesson dl-basics/python-basics]
                                          [--warm N] [--browsers 3] [--timeout 300]

One real hub in the README's demo configuration (bench/lesson_open.py's ``demo_hub``: local
accounts, per-user origins at ``<name>.localhost``, the private lesson network, the LMS
service), real containers. Before the start, every learner signs up and logs in through the
hub's forms, and has the spawn form open; with ``--warm N`` the hub keeps N servers of the
lesson warm (``LMS_WARM_LESSONS=<lesson>=N``) and the start waits until all N are ready.

At the start, every learner clicks *Start*: the first ``--browsers`` learners in a real Chromium
each (bench/lesson_open.py's ``click_start``: the click until
the lesson notebook is open in JupyterLab with its kernel idle), the others as the form does it
(``POST`` of ``lesson`` to the form's action, ``/hub/spawn/<name>?_xsrf=…``, with their
login cookie). The browsers' clicks
go first and, with ``--warm``, the other learners follow as soon as the hub has taken the
browsers' warm servers (at most 5 s later; the bench prints how much later), so that the first
to click, the learners timed in Chromium, get the warm servers. Meanwhile a
probe calls the hub's REST API in a loop (``GET /hub/api/users/<name>``).

A learner is ready when their server answers through the proxy at their own origin
(``GET /user/<name>/api/status`` with a token of theirs) and the lesson's kernel, which the
server starts ahead, is idle (``GET /user/<name>/api/kernels``; the server learns a kernel's
state from its messages, so the bench first asks the kernel for its ``kernel_info`` over the
kernel's websocket, as JupyterLab does when it opens the notebook; for the learners in
Chromium, JupyterLab does it). To keep the polling off the
hub, a learner's server is polled once the hub lists it as ready (``GET /hub/api/users?
state=active``, once a second; this list also tells the learners whose start failed).

Prints: failures (goal 0), the time until all are ready (goal <= 60 s), per-learner ready
times (p50/p90/max), the hub API probe's p50/p99 (goal p99 <= 1 s), which learners got a warm
server, and the Chromium learners' click -> notebook open with kernel idle (goal for the first
pooled ones: <= 3 s). Stops and removes everything it started (containers, volumes, the
lesson network, mounts), also on Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import requests
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClosedError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from learner_client import host_cookies, kernel_info
from lesson_open import (chromium_path, cleanup, click_start, demo_hub, first_notebook,
                         open_spawn_form, pool_status)
from publish_content import publish

from tests.browser.conftest import CHROMIUM_FLAGS
from tests.browser.host_network import quiet_container_addresses_or_warn
from tests.spawn.accounts import login

CLAIMED = re.compile(r"(\S+) claimed pooled server ")


@dataclass
class Learner:
    name: str
    browser: bool = False
    session: requests.Session | None = None
    action: str = ""
    token: str = ""
    answer: str = ""  # how the start was answered (status and where it sent the learner)
    accepted: bool = False
    listed_ready: bool = False
    failed: str = ""
    ready_s: float | None = None
    click: tuple[float, float, float] | None = None  # Chromium: total, JupyterLab page, shown


def descendants(pid: int) -> list[int]:
    """The processes started by process ``pid`` (its children, theirs, …)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def remove_containers(run_id: str) -> None:
    """Remove the run's containers, several at a time."""
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"name=lms-test-{run_id}"],
                         capture_output=True, text=True).stdout.split()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: subprocess.run(["docker", "rm", "-f", i], capture_output=True),
                      ids))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


class ClassStart:
    def __init__(self, hub, learners: list[Learner], lesson: str, notebook: str, timeout: float,
                 warm: int = 0):
        self.hub = hub
        self.learners = learners
        self.lesson = lesson
        self.notebook = notebook
        self.timeout = timeout
        self.go = threading.Event()
        self.stop = threading.Event()
        self.t0 = 0.0
        self.latencies: list[float] = []
        self.browsers_set = threading.Barrier(sum(x.browser for x in learners) + 1)
        self.warm = warm
        self.others_go = threading.Event()  # the learners who post the form click
        self.others_after = 0.0

    # -- before the start -----------------------------------------------------------------------

    def sign_up(self, learner: Learner) -> None:
        learner.session = login(self.hub.url, learner.name)
        host_cookies(learner.session)
        form = learner.session.get(f"{self.hub.url}/hub/spawn", timeout=60)
        host_cookies(learner.session)
        found = re.search(r'id="spawn_form"\s+action="([^"]*)"', form.text)
        assert found, f"no spawn form on {form.url}"
        learner.action = html.unescape(found.group(1))  # where the form posts (with _xsrf)
        assert f'value="{self.lesson}"' in form.text, f"{self.lesson} is not on the spawn form"
        r = self.hub.api("POST", f"/users/{learner.name}/tokens",
                         json={"note": "class start bench", "expires_in": 3600})
        assert r.status_code == 201, r.text
        learner.token = r.json()["token"]

    # -- the start ------------------------------------------------------------------------------

    def post_form(self, learner: Learner) -> None:
        self.others_go.wait()
        try:
            r = learner.session.post(urljoin(f"{self.hub.url}/hub/spawn", learner.action),
                                     files={"lesson": (None, self.lesson)},  # multipart, as the form
                                     allow_redirects=False, timeout=self.timeout)
        except requests.RequestException as exc:
            learner.failed = f"spawn form post: {exc}"
            return
        where = r.headers.get("Location", "")
        learner.answer = f"{r.status_code} {where}"
        learner.accepted = r.status_code in (302, 303) and "/hub/spawn?" not in where
        if not learner.accepted:
            learner.failed = f"spawn form answered {learner.answer} {r.text[-300:]!r}"
            return
        self.until_ready(learner)

    def drive_browser(self, learner: Learner) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_path(),
                                             args=CHROMIUM_FLAGS)
                context, page = open_spawn_form(browser, self.hub, learner.name, self.lesson)

                def answered(response) -> None:
                    if response.request.method == "POST" and "/hub/spawn" in response.url:
                        learner.answer = f"{response.status} {response.headers.get('location')}"
                        learner.accepted = response.status in (302, 303)
                page.on("response", answered)
                self.browsers_set.wait()
                self.go.wait()
                threading.Thread(target=self.until_ready, args=(learner,), daemon=True).start()
                learner.click = click_start(page, self.notebook)
                context.close()
                browser.close()
        except Exception as exc:  # noqa: BLE001 - the bench reports it as the learner's failure
            first_line = (str(exc).strip().splitlines() or [""])[0]
            learner.failed = learner.failed or f"Chromium: {type(exc).__name__}: {first_line}"
            if not self.browsers_set.broken and not self.go.is_set():
                self.browsers_set.abort()

    def until_ready(self, learner: Learner) -> None:
        """Poll the learner's server at their origin once the hub lists it as ready, until the
        lesson's kernel (started by the server itself) answers and the server reports it idle."""
        base = f"{self.hub.user_url(learner.name)}/user/{learner.name}/api"
        headers = {"Authorization": f"token {learner.token}"}
        with requests.Session() as http:
            while not self.stop.is_set() and not learner.failed:
                if learner.listed_ready:
                    try:
                        status = http.get(f"{base}/status", headers=headers, timeout=30)
                        kernels = (http.get(f"{base}/kernels", headers=headers, timeout=30).json()
                                   if status.status_code == 200 else [])
                        if (kernels and not learner.browser
                                and kernels[0].get("execution_state") != "idle"):
                            # the server knows a kernel idle only once a client has talked to
                            # it: ask it what JupyterLab asks first when it opens the notebook
                            # (in Chromium, JupyterLab does; a closed connection would leave
                            # the kernel's messages buffered for it, not for JupyterLab)
                            asyncio.run(kernel_info(base, kernels[0]["id"], learner.token))
                            kernels = http.get(f"{base}/kernels", headers=headers,
                                               timeout=30).json()
                        if any(k.get("execution_state") == "idle" for k in kernels):
                            learner.ready_s = time.perf_counter() - self.t0
                            return
                    except (requests.RequestException, ValueError, OSError,
                            asyncio.TimeoutError, WebSocketClosedError, HTTPClientError):
                        pass
                time.sleep(0.2)

    def watch(self) -> None:
        """Which servers the hub lists as ready, and which accepted starts it lists no more."""
        gone: dict[str, int] = {}
        by_name = {x.name: x for x in self.learners}
        while not self.stop.is_set():
            active: dict[str, dict] = {}
            offset = 0
            try:
                while True:
                    page = requests.get(
                        f"{self.hub.api_url}/users?state=active&offset={offset}&limit=200",
                        headers={"Authorization": f"token {self.hub.token}",
                                 "Accept": "application/jupyterhub-pagination+json"},
                        timeout=60).json()
                    items = page["items"] if isinstance(page, dict) else page
                    active.update((u["name"], u) for u in items)
                    nxt = (page.get("_pagination") or {}).get("next") if isinstance(
                        page, dict) else None
                    if not nxt:
                        break
                    offset = nxt["offset"]
            except (requests.RequestException, ValueError, KeyError):
                time.sleep(0.5)
                continue
            for name, learner in by_name.items():
                server = (active.get(name) or {}).get("servers", {}).get("")
                if server and server.get("ready"):
                    learner.listed_ready = True
                if learner.accepted and not server and learner.ready_s is None:
                    gone[name] = gone.get(name, 0) + 1
                    if gone[name] >= 3 and not learner.failed:
                        learner.failed = "the hub lists no server (its start failed)"
                else:
                    gone.pop(name, None)
            time.sleep(1)

    def pool_ready(self) -> int:
        return (((pool_status(self.hub) or {}).get("lessons") or {}).get(self.lesson)
                or {}).get("ready", 0)

    def probe(self) -> None:
        name = self.learners[-1].name
        while not self.stop.is_set():
            t = time.perf_counter()
            try:
                self.hub.api("GET", f"/users/{name}")
                self.latencies.append(time.perf_counter() - t)
            except requests.RequestException:
                self.latencies.append(float("inf"))
            time.sleep(0.05)

    def run(self) -> None:
        threads = [threading.Thread(target=self.drive_browser if x.browser else self.post_form,
                                    args=(x,), daemon=True) for x in self.learners]
        for thread in threads:
            thread.start()
        try:  # every browser on the spawn form, the lesson picked
            self.browsers_set.wait(timeout=300)
        except threading.BrokenBarrierError:
            self.stop.set()
            raise SystemExit("a browser did not reach the spawn form: " + "; ".join(
                x.failed for x in self.learners if x.failed)) from None
        threading.Thread(target=self.watch, daemon=True).start()
        threading.Thread(target=self.probe, daemon=True).start()
        time.sleep(2)  # the probe's figures before the start are part of "meanwhile"
        waiting = self.pool_ready() if self.warm else 0
        self.t0 = time.perf_counter()
        self.go.set()
        if waiting:
            # the warm servers go to the first to click: the learners in Chromium click first,
            # the others as soon as the hub has taken the browsers' warm servers (at most 5 s)
            claims = min(waiting, sum(x.browser for x in self.learners))
            while (time.perf_counter() - self.t0 < 5
                   and self.pool_ready() > waiting - claims):
                time.sleep(0.02)
        self.others_after = time.perf_counter() - self.t0
        self.others_go.set()
        deadline = self.t0 + self.timeout
        for thread in threads:
            thread.join(max(deadline - time.perf_counter(), 0.1))
        self.stop.set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--lesson", default="dl-basics/python-basics")
    parser.add_argument("--warm", type=int, default=0, metavar="N",
                        help="keep N servers of the lesson warm (LMS_WARM_LESSONS)")
    parser.add_argument("--browsers", type=int, default=3,
                        help="learners driven by a real Chromium (the first to click)")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds after the start that a learner may take to be ready")
    args = parser.parse_args()
    browsers = min(args.browsers, args.learners)
    if args.learners < 1 or args.warm < 0:
        parser.error("--learners: at least 1; --warm: 0 or more")

    notebook = first_notebook(parser, args.lesson)
    quiet_container_addresses_or_warn()  # Chromium runs beside the Docker engine

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run_id = "class" + os.urandom(2).hex()
    tmp = Path(tempfile.mkdtemp(prefix="lms-class-start-"))
    env = {"LMS_IDLE_TIMEOUT": "0"}
    if args.warm:
        env["LMS_WARM_LESSONS"] = f"{args.lesson}={args.warm}"
    hub = None
    try:
        publish(ROOT / "content_repo", tmp / "content.git", "bench content")
        hub = demo_hub(tmp / "hub", tmp / "content.git", run_id, env)
        hub.start()
        learners = [Learner(f"l{i:03d}", browser=i < browsers) for i in range(args.learners)]
        bench = ClassStart(hub, learners, args.lesson, notebook, args.timeout, args.warm)
        began = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(bench.sign_up, learners))
        print(f"{args.learners} learners signed up and on the spawn form in "
              f"{time.perf_counter() - began:.0f} s", flush=True)
        if args.warm:
            patience = max(300, 6 * args.warm)  # pooled servers start a few at a time
            deadline = time.monotonic() + patience
            entry: dict = {}
            while time.monotonic() < deadline:
                entry = ((pool_status(hub) or {}).get("lessons") or {}).get(args.lesson) or {}
                if entry.get("ready", 0) >= args.warm:
                    break
                time.sleep(0.5)
            else:
                raise SystemExit(f"the warm pool is not ready after {patience} s: {entry}")
            print(f"warm pool ready: {args.lesson} {entry}", flush=True)
        print(f"start ({load()})", flush=True)
        bench.run()
        report(args, bench, hub, browsers)
    finally:
        children = descendants(hub.proc.pid) if hub is not None and hub.proc else []
        remove_containers(run_id)  # before the hub stops: it would stop them one by one
        if hub is not None:
            hub.stop()
        for pid in children:  # the proxy and the LMS service, when the hub had to be killed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        subprocess.run(["umount", "-R", str(tmp / "hub" / "pool-slots")],
                       capture_output=True)
        remove_containers(run_id)
        cleanup(run_id)
        with open("/proc/self/mountinfo") as mountinfo:
            mounted = [line.split()[4] for line in mountinfo if str(tmp) in line]
        if mounted:  # never delete through a mount (a learner's home volume)
            print(f"left {tmp} in place: still mounted there: {mounted}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def report(args, bench: ClassStart, hub, browsers: int) -> None:
    learners = bench.learners
    pooled = set(CLAIMED.findall(hub.log_path.read_text(errors="replace")))
    for x in learners:
        if x.browser and x.click is None and not x.failed:
            x.failed = f"Chromium: the notebook was not open with its kernel idle after " \
                       f"{args.timeout:.0f} s"
    failed = [x for x in learners if x.failed or x.ready_s is None]
    ready = [x.ready_s for x in learners if x.ready_s is not None]
    print(f"\n{args.learners} learners open {args.lesson} at once from the spawn form "
          f"(warm pool: {args.warm}, {browsers} in Chromium); {load()}:")
    print(f"  failures: {len(failed)} (goal 0)")
    reasons = Counter((x.failed or f"not ready after {args.timeout:.0f} s")[:100]
                      for x in failed)
    for reason, count in reasons.most_common(8):
        names = [x.name for x in failed
                 if (x.failed or f"not ready after {args.timeout:.0f} s")[:100] == reason]
        print(f"    {count} × {reason} ({', '.join(names[:5])}{', …' if count > 5 else ''})")
    if ready:
        print(f"  all ready after {max(ready):.1f} s (goal <= 60 s)" if not failed else
              f"  {len(ready)} ready, the last after {max(ready):.1f} s (goal: all <= 60 s)")
        print(f"  ready per learner: p50 {percentile(ready, 0.5):.1f} s, "
              f"p90 {percentile(ready, 0.9):.1f} s, max {max(ready):.1f} s; ready within "
              f"60 s: {sum(r <= 60 for r in ready)} of {len(learners)}")
    lat = bench.latencies
    if lat:
        print(f"  hub API probe meanwhile ({len(lat)} calls): p50 "
              f"{percentile(lat, 0.5) * 1000:.0f} ms, p99 {percentile(lat, 0.99) * 1000:.0f} ms, "
              f"max {max(lat) * 1000:.0f} ms (goal p99 <= 1000 ms)")
    kept = Path(tempfile.gettempdir()) / f"lms-class-start-{hub.run_id}.log"
    shutil.copyfile(hub.log_path, kept)
    print(f"  the hub's log: {kept}")
    if args.warm:
        print(f"  the learners in Chromium clicked first, the others {bench.others_after:.2f} s "
              f"later")
        print(f"  warm servers claimed: {len(pooled)} ({', '.join(sorted(pooled)) or 'none'})")
    first: list[float] = []
    print("  Chromium, click Start -> notebook open with its kernel idle:")
    for x in learners:
        if not x.browser:
            continue
        kind = "pooled" if x.name in pooled else "cold"
        if x.click is None:
            print(f"    {x.name} ({kind}): no figure ({x.failed or 'did not finish'})")
            continue
        total, page, shown = x.click
        print(f"    {x.name} ({kind}): {total:.2f} s (JupyterLab page {page:.2f} s, "
              f"notebook shown {shown:.2f} s)")
        if x.name in pooled:
            first.append(total)
    if args.warm:
        if first:
            verdict = "met" if max(first) <= 3.0 else "NOT met"
            print(f"  first pooled learners: max {max(first):.2f} s (goal <= 3 s: {verdict})")
        else:
            got = [x.name for x in learners if x.browser and x.name in pooled]
            print("  first pooled learners: " + (f"no figure ({', '.join(got)} got a warm server "
                  "but did not finish)" if got else "none of the Chromium learners got a warm "
                  "server"))


if __name__ == "__main__":
    sys.exit(main())
