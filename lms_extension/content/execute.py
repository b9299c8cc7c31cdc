"""``lms-content execute``: run every lesson's notebooks in that lesson's own image.

Each lesson runs in a fresh container of its environment's image (``docker run --rm``, no
network, the course folder mounted read-only), where :mod:`.nbrun` executes its notebooks with
nbclient. With ``--local`` the notebooks run with the current Python instead. Prints a line per
lesson as it finishes, the failing cell and error of each failure, and a summary; exit 1 if any
lesson failed.

Exercise cells (tagged ``exercise:NAME``) run with their reference solutions from the course's
``solutions/`` folder, which learners never get; ``--unsolved`` instead leaves each exercise as
shipped in turn and passes a lesson only if a ``check`` cell catches every one (see
:mod:`.nbrun`). Either way the notebooks run without what learners never get (the folders of
:data:`.learner_repo.LEFT_OUT`, ``solutions/``, hidden files).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .catalog import Catalog, LessonRef, load_catalog
from .errors import ContentError, LessonNotFound
from .learner_repo import LEFT_OUT

RUNNER = Path(__file__).with_name("nbrun.py")
RUNNER_IN_IMAGE = "/opt/lms-execute/nbrun.py"
COURSE_IN_IMAGE = "/srv/lms/course"


def _image_present(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image],
                          capture_output=True).returncode == 0


def runner_command(ref: LessonRef, course_dir: Path, args: argparse.Namespace) -> list[str]:
    """The command that runs ``ref``'s notebooks: in its image, or locally."""
    tail = ["--timeout", str(args.timeout), "--mode", "unsolved" if args.unsolved else "solved",
            "--leave-out", *sorted({*LEFT_OUT, "solutions"}), "--", *ref.lesson.notebooks]
    if args.local:
        return [sys.executable, str(RUNNER), "--course", str(course_dir), *tail]
    cmd = ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python",
           "--label", "org.lms-platform.execute=1",
           "-v", f"{course_dir}:{COURSE_IN_IMAGE}:ro", "-v", f"{RUNNER}:{RUNNER_IN_IMAGE}:ro"]
    if args.gpus and ref.environment.gpu:
        cmd += ["--gpus", str(ref.environment.gpu)]
    return cmd + [ref.environment.image, RUNNER_IN_IMAGE, "--course", COURSE_IN_IMAGE, *tail]


def run_lesson(ref: LessonRef, course_dir: Path, args: argparse.Namespace,
               notes: list[str] | None = None) -> list[str]:
    """Run one lesson; return the lines describing its failures (empty: it passed).

    With ``--unsolved``, ``notes`` gets a line for each exercise a check caught."""
    if not args.local and not _image_present(ref.environment.image):
        return [f"image {ref.environment.image} is not on this machine: build it with "
                "'python3 images/build.py' or pull it from your registry"]
    proc = subprocess.run(runner_command(ref, course_dir, args), capture_output=True, text=True)
    reports = []
    for line in proc.stdout.splitlines():
        try:
            reports.append(json.loads(line))
        except ValueError:
            continue
    failures = []
    for report in reports:
        where = f"{ref.course_dir}/{report['notebook']}".lstrip("/")
        if notes is not None and "caught" in report:
            notes += [f"{where}: cell {c['cell']} catches {c['exercise']} unsolved: "
                      f"{c['error']}: {c['message']}" for c in report["caught"]]
            if report.get("ok") and not report["caught"]:
                notes.append(f"{where}: no exercises")
        if report.get("ok"):
            continue
        cell = f" cell {report['cell']}" if report.get("cell", -1) >= 0 else ""
        failures.append(f"{where}:{cell} {report['error']}: {report['message']}")
        failures += [f"    {line}" for line in report.get("traceback", [])]
    if len(reports) < len(ref.lesson.notebooks) and not failures:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-10:]
        failures.append(f"the runner stopped (exit {proc.returncode}) before it finished")
        failures += [f"    {line}" for line in tail]
    return failures


def select(catalog: Catalog, keys: list[str] | None) -> list[LessonRef]:
    if not keys:
        return catalog.lessons()
    return [catalog.resolve(key) for key in keys]


def run(args: argparse.Namespace) -> int:
    root = Path(args.path).resolve()
    if not args.local and not shutil.which("docker"):
        print("docker: not found; install Docker or use --local", file=sys.stderr)
        return 1
    try:
        catalog = load_catalog(root)
        lessons = select(catalog, args.lesson)
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except LessonNotFound as exc:
        print(f"--lesson: {exc}", file=sys.stderr)
        return 1
    started = time.monotonic()
    failed = []
    for number, ref in enumerate(lessons, 1):
        where = "locally" if args.local else f"in {ref.environment.image}"
        print(f"[{number}/{len(lessons)}] {ref.key} {where} …", end=" ", flush=True)
        t0 = time.monotonic()
        notes: list[str] = []
        failures = run_lesson(ref, root / ref.course_dir, args, notes)
        status = "FAILED" if failures else "passed"
        print(f"{status} in {time.monotonic() - t0:.1f} s", flush=True)
        for line in notes + failures:
            print(f"    {line}", flush=True)
        if failures:
            failed.append(ref.key)
    passed = len(lessons) - len(failed)
    print(f"{len(lessons)} lesson(s): {passed} passed, {len(failed)} failed "
          f"in {time.monotonic() - started:.1f} s")
    return 1 if failed else 0


def add_parser(sub) -> None:
    cmd = sub.add_parser("execute", help="run every lesson's notebooks in the lesson's image")
    cmd.add_argument("path", help="a content repo or a course folder")
    cmd.add_argument("--local", action="store_true",
                     help="run with the current Python instead of the lessons' images")
    cmd.add_argument("--timeout", type=float, default=300,
                     help="seconds one cell may run (default 300)")
    cmd.add_argument("--lesson", action="append", metavar="COURSE/LESSON",
                     help="run only this lesson (repeatable)")
    cmd.add_argument("--gpus", action="store_true",
                     help="give GPU lessons their GPUs (docker --gpus); without it they run on CPU")
    cmd.add_argument("--unsolved", action="store_true",
                     help="leave each exercise cell unsolved in turn: a lesson passes only if "
                          "one of its check cells fails each time (default: run the exercises "
                          "with the solutions in solutions/)")
    cmd.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    """``lms-content execute`` on its own: ``main(["content_repo", "--local"])``."""
    parser = argparse.ArgumentParser(prog="lms-content")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["execute", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
