"""Start on the spawn form → the lesson notebook open in JupyterLab with its kernel idle.

    .venv/bin/python bench/lesson_open.py [--rounds 5] [--lesson dl-basics/numpy-basics]
                                          [--warm] [--fresh-learners]

What a learner sees, in a real Chromium (Debian's, driven by Playwright as the browser tests do)
against real hubs in the README's demo configuration (hub_config/: local accounts, per-user
origins at ``<name>.localhost``, the private lesson network, the LMS service; plus the test
suite's naming of containers and volumes, so that the bench removes what it made). A sample:
log in through the hub's form, open the spawn form, pick the lesson, and time the click on
*Start* until the lesson's notebook is the current tab of JupyterLab and the status bar shows
its kernel as ``| Idle`` (JupyterLab writes that only once the kernel is connected and has
answered). Every sample runs in a new browser context (an empty browser cache, as a first
visit) and the learner's server is stopped after it.

Two hubs run side by side and samples alternate between them:

- default: the lesson kernel started at server start (``LMS_PRESTART_KERNEL=1``, the
  platform's default) against the same hub with it off (``LMS_PRESTART_KERNEL=0``);
- ``--warm``: a hub keeping a warm pool for the lesson (``LMS_WARM_LESSONS=<lesson>=1``)
  against the same hub without one. The bench says whether the hub reports a pool; a hub
  without pools runs the same, without effect.

By default each hub's learner is the same in every sample (signed up once; one start before
the samples brings the course into their home, so every sample is a restart with a home
present); ``--fresh-learners`` signs up a new learner for every sample (first start: the course
is cloned into an empty home). Prints each sample, then p50/min/max of both and their ratio,
and the medians of the steps: click → JupyterLab page, → notebook shown, → kernel idle.
Goal: cold ≤ 3.5 s, pooled ≤ 2.0 s.

For scale, every round also times plain JupyterLab in the lesson's own image, with no hub: the
image's ``jupyter lab`` (the same lean page configuration) in a container on the run's lesson
network, the course copied into its home, no login; a fresh browser context goes straight to
the notebook's URL and is timed until the notebook is open with its kernel idle (JupyterLab
starts the kernel as it opens the notebook). What the platform adds is the difference.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from publish_content import publish

from tests.browser.conftest import CHROMIUM_FLAGS
from tests.browser.host_network import quiet_container_addresses_or_warn
from tests.hubctl import Hub, free_port, network_name
from tests.spawn.accounts import PASSWORD, login

TIMEOUT_MS = 120_000
IDLE = re.compile(r"\| Idle$")


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("Debian's chromium is not installed (scripts/test.sh installs it)")


@dataclass
class Side:
    """One hub and its samples."""

    label: str
    hub: Hub
    learner: str
    samples: list[float] = field(default_factory=list)
    steps: list[tuple[float, float, float]] = field(default_factory=list)


def demo_hub(state: Path, remote: Path, run_id: str, env: dict[str, str]) -> Hub:
    """A hub as the README's demo runs it: per-user origins on localhost."""
    port = free_port()
    state.mkdir(parents=True)
    return Hub(state, str(remote), run_id, {
        "LMS_HUB_PORT": str(port),
        "LMS_SUBDOMAIN_HOST": f"http://localhost:{port}",
        **env,
    })


def pool_status(hub: Hub) -> dict | None:
    """The hub's warm pools (``GET /hub/api/lms/pool``), or None when it reports none."""
    try:
        r = hub.api("GET", "/lms/pool")
        return r.json() if r.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None


def pool_report(hub: Hub, lesson: str) -> str:
    status = pool_status(hub)
    if status is None:
        return "the hub reports no pool (GET /hub/api/lms/pool does not answer 200)"
    return (f"the hub reports warm_lessons {status.get('warm_lessons')}, {lesson}: "
            f"{(status.get('lessons') or {}).get(lesson)}")


def pool_ready(hub: Hub, lesson: str) -> bool:
    """Whether the hub's pool for ``lesson`` holds a ready server (True when the hub keeps
    none of it warm)."""
    status = pool_status(hub)
    if status is None or not (status.get("wanted") or {}).get(lesson):
        return True
    entry = (status.get("lessons") or {}).get(lesson) or {}
    return bool(entry.get("ready"))


def first_notebook(parser: argparse.ArgumentParser, key: str) -> str:
    """The path, in the learner's home, of the first notebook of ``course/lesson`` in
    content_repo/ (what the lesson opens on); a parser error when there is no such lesson."""
    from lms_extension.content.loader import read_course

    course_slug, lesson_slug = key.split("/", 1)
    lesson = read_course(ROOT / "content_repo" / course_slug / "course.yaml").lesson(lesson_slug)
    if lesson is None:
        parser.error(f"--lesson: {key!r} is not in content_repo/")
    return f"{course_slug}/{lesson.notebooks[0]}"


def open_spawn_form(browser, hub: Hub, learner: str, lesson: str):
    """A new browser context (empty cache) logged in as ``learner`` on the spawn form with
    ``lesson`` picked; returns (context, page)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"{hub.url}/hub/login")
        page.fill("input[name=username]", learner)
        page.fill("input[name=password]", PASSWORD)
        page.click("#login_submit, input[type=submit], button[type=submit]")
        page.wait_for_url(re.compile(r"/hub/(spawn|home)"))
        if "/hub/spawn" not in page.url:
            page.goto(f"{hub.url}/hub/spawn")
        page.check(f'input[name="lesson"][value="{lesson}"]')
    except BaseException:
        context.close()
        raise
    return context, page


def click_start(page, notebook: str) -> tuple[float, float, float]:
    """Click *Start* on the spawn form and wait until ``notebook`` is JupyterLab's current tab
    with its kernel idle; returns seconds from the click (total, JupyterLab page, shown)."""
    start = page.locator("#spawn_form [type=submit]")
    t0 = time.perf_counter()
    start.click()
    page.wait_for_url(re.compile(r"/lab(/|\?|$)"), wait_until="commit")
    t_page = time.perf_counter()
    t_shown, t_idle = notebook_open(page, notebook)
    return t_idle - t0, t_page - t0, t_shown - t0


def notebook_open(page, notebook: str) -> tuple[float, float]:
    """Wait until ``notebook`` is JupyterLab's current tab, then until its kernel is idle;
    returns the two moments (``time.perf_counter()``)."""
    name = notebook.rsplit("/", 1)[-1]
    page.locator("#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel",
                 has_text=name).wait_for()
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.wait_for()
    t_shown = time.perf_counter()
    page.locator(".jp-StatusBar-TextItem", has_text=IDLE).wait_for()
    t_idle = time.perf_counter()
    # what the status bar shows is the current notebook's kernel: make sure it is the lesson's
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current").first
    assert notebook in (tab.get_attribute("title") or ""), tab.get_attribute("title")
    return t_shown, t_idle


def sample(browser, side: Side, lesson: str, notebook: str, warm: bool) -> tuple[float, ...]:
    """One click on Start → notebook open and kernel idle; returns (total, page, shown)."""
    hub = side.hub
    if warm:
        deadline = time.monotonic() + 180
        while not pool_ready(hub, lesson) and time.monotonic() < deadline:
            time.sleep(0.5)
    context, page = open_spawn_form(browser, hub, side.learner, lesson)
    try:
        return click_start(page, notebook)
    finally:
        context.close()
        hub.stop_server(side.learner)


class Reference:
    """Plain JupyterLab in the lesson's image, no hub: what the browser alone needs."""

    def __init__(self, run_id: str, lesson: str, notebook: str):
        from lms_extension.content.loader import read_course

        course_slug, lesson_slug = lesson.split("/", 1)
        course = read_course(ROOT / "content_repo" / course_slug / "course.yaml")
        found = course.lesson(lesson_slug)
        self.image = course.environments[course.environment_name(found)].image
        self.notebook = notebook
        self.name = f"lms-test-{run_id}-reference"
        self.network = network_name(run_id)
        self.course = ROOT / "content_repo" / course_slug
        self.url = ""
        self.samples: list[tuple[float, float]] = []

    def docker(self, *args: str) -> str:
        return subprocess.run(["docker", *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    def start(self) -> None:
        """A new container (a new server, no kernel yet); waits until it answers."""
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True)
        self.docker("create", "--name", self.name, "--network", self.network, self.image,
                    "jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser",
                    "--ServerApp.token=", "--ServerApp.password=",
                    "--ServerApp.disable_check_xsrf=True")
        self.docker("cp", str(self.course), f"{self.name}:/home/jovyan/")
        self.docker("start", self.name)
        ip = self.docker("inspect", "--format",
                         f'{{{{(index .NetworkSettings.Networks "{self.network}").IPAddress}}}}',
                         self.name)
        self.url = f"http://{ip}:8888"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/api/status", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise SystemExit(f"plain JupyterLab in {self.image} did not answer in 120 s")

    def sample(self, browser) -> tuple[float, float]:
        """Fresh browser context, straight to the notebook; (kernel idle, notebook shown)."""
        self.start()
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        try:
            page = context.new_page()
            t0 = time.perf_counter()
            page.goto(f"{self.url}/lab/tree/{self.notebook}", wait_until="commit")
            shown, idle = notebook_open(page, self.notebook)
        finally:
            context.close()
            subprocess.run(["docker", "rm", "-f", self.name], capture_output=True)
        return idle - t0, shown - t0


def summary(values: list[float]) -> str:
    return (f"p50 {statistics.median(values):.2f} s  min {min(values):.2f}  "
            f"max {max(values):.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="samples per hub (at least 5)")
    parser.add_argument("--lesson", default="dl-basics/numpy-basics")
    parser.add_argument("--warm", action="store_true",
                        help="compare a hub with a warm pool for the lesson against one without")
    parser.add_argument("--fresh-learners", action="store_true",
                        help="a new learner for every sample (an empty home each time)")
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds: at least 5")

    notebook = first_notebook(parser, args.lesson)
    quiet_container_addresses_or_warn()  # Chromium runs beside the Docker engine

    from playwright.sync_api import sync_playwright

    # stopped from outside (timeout, kill): still stop the hubs and remove what they made
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run_id = "open" + os.urandom(2).hex()
    tmp = Path(tempfile.mkdtemp(prefix="lms-lesson-open-"))
    remote = tmp / "content.git"
    publish(ROOT / "content_repo", remote, "bench content")
    if args.warm:
        plans = [("warm pool", {"LMS_WARM_LESSONS": f"{args.lesson}=1"}),
                 ("no pool", {})]
    else:
        plans = [("kernel pre-start on", {"LMS_PRESTART_KERNEL": "1"}),
                 ("kernel pre-start off", {"LMS_PRESTART_KERNEL": "0"})]
    sides = [Side(label, demo_hub(tmp / f"hub{i}", remote, run_id,
                                  {"LMS_IDLE_TIMEOUT": "0", **env}), f"learner{i}")
             for i, (label, env) in enumerate(plans)]
    reference = Reference(run_id, args.lesson, notebook)
    count = 0
    try:
        for side in sides:
            side.hub.start()
        if args.warm:
            print(f"warm pool: {pool_report(sides[0].hub, args.lesson)}", flush=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
            for side in sides:
                if not args.fresh_learners:  # a first start brings the course into the home
                    login(side.hub.url, side.learner)
                    sample(browser, side, args.lesson, notebook, args.warm)
            for number in range(1, args.rounds + 1):
                line = []
                for side in sides:
                    if args.fresh_learners:
                        count += 1
                        side.learner = f"fresh{count}"
                        login(side.hub.url, side.learner)
                    total, page, shown = sample(browser, side, args.lesson, notebook, args.warm)
                    side.samples.append(total)
                    side.steps.append((page, shown, total))
                    line.append(f"{side.label} {total:.2f} s (page {page:.2f}, shown "
                                f"{shown:.2f})")
                idle, shown = reference.sample(browser)
                reference.samples.append((idle, shown))
                line.append(f"plain JupyterLab {idle:.2f} s (shown {shown:.2f})")
                print(f"round {number}/{args.rounds}: " + "; ".join(line), flush=True)
            browser.close()
    finally:
        for side in sides:
            side.hub.stop()
            # a hub with a warm pool leaves its slot folder a shared mount
            subprocess.run(["umount", "-R", str(side.hub.state_dir / "pool-slots")],
                           capture_output=True)
        cleanup(run_id)
        shutil.rmtree(tmp, ignore_errors=True)

    who = ("a new learner every sample (empty home)" if args.fresh_learners
           else "the same learner every sample (home present)")
    print(f"\nclick Start on the spawn form → {notebook} open with its kernel idle, "
          f"{args.rounds} samples per hub, {who}, fresh browser context each:")
    for side in sides:
        steps = [statistics.median(s[i] for s in side.steps) for i in range(3)]
        print(f"  {side.label:22s} {summary(side.samples)}   (medians: JupyterLab page "
              f"{steps[0]:.2f} s, notebook shown {steps[1]:.2f} s, kernel idle {steps[2]:.2f} s)")
    idle = [x for x, _ in reference.samples]
    print(f"  {'plain JupyterLab, no hub':22s} {summary(idle)}   (median: notebook shown "
          f"{statistics.median(y for _, y in reference.samples):.2f} s; {reference.image}, "
          "navigation → notebook open, kernel idle)")
    a, b = (statistics.median(side.samples) for side in sides)
    print(f"  {sides[0].label} / {sides[1].label}: {a / b:.3f}")
    goal = 2.0 if args.warm else 3.5
    print(f"  goal: {sides[0].label} p50 ≤ {goal} s: {'met' if a <= goal else 'NOT met'}")
    return 0


def cleanup(run_id: str) -> None:
    prefix = f"lms-test-{run_id}"

    def names(*cmd: str) -> list[str]:
        return subprocess.run(["docker", *cmd], capture_output=True, text=True).stdout.split()

    ids = names("ps", "-aq", "--filter", f"name={prefix}")
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
    volumes = names("volume", "ls", "-q", "--filter", f"name={prefix}")
    if volumes:
        subprocess.run(["docker", "volume", "rm", "-f", *volumes], capture_output=True)
    subprocess.run(["docker", "network", "rm", network_name(run_id)], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
