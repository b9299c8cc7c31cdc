"""How long `lms-content validate` takes on a generated 100-lesson course.

    .venv/bin/python bench/validate_course.py [--lessons 100] [--cells 20] [--rounds 5]

Generates a course of LESSONS lessons (one notebook each, CELLS cells alternating markdown and
code, stripped, with a survey) in a temporary folder, checks that it validates, then times the
real command (a fresh process each round, as an editor or CI runs it) and the in-process
check (`load_catalog`, what the hub and the LMS service do per content version). Prints the
median and the slowest round of each. Goal: the command under 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from lms_extension.content import load_catalog

LMS_CONTENT = str(Path(sys.executable).with_name("lms-content"))


def make_course(folder: Path, lessons: int, cells: int) -> None:
    (folder / "surveys").mkdir(parents=True)
    (folder / "surveys" / "end-of-lesson.yaml").write_text(
        "title: How was it?\nquestions:\n"
        '  - {id: difficulty, type: rating, text: "How hard was it?", required: true}\n'
        '  - {id: pace, type: single, text: "Pace?", options: [slow, right, fast]}\n'
        '  - {id: words, type: text, text: "Anything else?"}\n'
    )
    lines = [
        "slug: generated", "title: A generated course", "environments:",
        '  cpu: {image: "lms/scipy:latest"}', '  gpu: {image: "lms/pytorch:latest", gpu: 1}',
        "default_environment: cpu", "survey: end-of-lesson", "lessons:",
    ]
    for n in range(1, lessons + 1):
        slug = f"lesson-{n:03d}"
        path = f"{n:03d}-{slug}/{slug}.ipynb"
        nb = nbformat.v4.new_notebook()
        for c in range(cells):
            if c % 2:
                nb.cells.append(nbformat.v4.new_code_cell(
                    f"import numpy as np\nx = np.arange({c})\n" + "y = x * 2\n" * 10))
            else:
                nb.cells.append(nbformat.v4.new_markdown_cell(
                    f"## Step {c}\n\n" + "Some explanation of what comes next. " * 20))
        (folder / path).parent.mkdir()
        (folder / path).write_text(nbformat.writes(nb))
        lines += [f"  - slug: {slug}", f"    title: Lesson {n}", f"    notebooks: [{path}]",
                  f"    environment: {'gpu' if n % 10 == 0 else 'cpu'}", f"    due: {n}d"]
    (folder / "course.yaml").write_text("\n".join(lines) + "\n")


def timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", type=int, default=100)
    parser.add_argument("--cells", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lms-bench-") as tmp:
        root = Path(tmp)
        make_course(root / "generated", args.lessons, args.cells)
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        command = [LMS_CONTENT, "validate", str(root)]
        check = subprocess.run(command, capture_output=True, text=True)
        if check.returncode:
            print(check.stderr, file=sys.stderr)
            return 1
        print(f"course: {args.lessons} lessons, {args.cells} cells each, {size / 1e6:.1f} MB")
        cli = [timed(lambda: subprocess.run(command, capture_output=True, check=True))
               for _ in range(args.rounds)]
        inproc = [timed(lambda: load_catalog(root)) for _ in range(args.rounds)]
    for name, times in (("lms-content validate (new process)", cli),
                        ("load_catalog (in process)", inproc)):
        print(f"  {name:36} median {statistics.median(times):.3f} s, slowest {max(times):.3f} s")
    print(f"  goal: command under 2 s -> {'met' if statistics.median(cli) < 2 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
