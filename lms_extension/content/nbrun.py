"""Run a lesson's notebooks with nbclient and report each as one JSON line on stdout.

``lms-content execute`` mounts this file into the lesson's image and runs it there with the
image's Python (or runs it with the current Python for ``--local``). It needs only nbformat,
nbclient and a ``python3`` kernel, which every lesson image has. The course folder is copied to
a scratch folder first, without what learners never get (``--leave-out`` names, hidden files),
so lessons may write files next to their notebooks and see only what a learner sees.

Exercises. A code cell tagged ``exercise:NAME`` is an exercise that ships unsolved; cells
tagged ``check`` hold the ``assert``\\ s that judge it. The reference solutions of
``LESSON/NOTEBOOK.ipynb`` are in ``solutions/LESSON/NOTEBOOK.py`` (in the course folder), one
block per exercise, each starting with a ``# %% exercise:NAME`` line::

    # %% exercise:relu
    relu = np.maximum(y, 0)

``--mode solved`` (the default) runs each notebook with every exercise cell replaced by its
solution; an exercise without a solution, or a solution without its exercise, fails the
notebook. ``--mode unsolved`` proves the checks catch what learners get: for each exercise in
turn it runs the notebook with that exercise as shipped (the others solved) and passes only if
the first error comes from a ``check`` cell after it.

    python nbrun.py --course DIR [--mode solved|unsolved] [--leave-out NAME ...]
                    [--timeout SECONDS] NOTEBOOK [NOTEBOOK ...]
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
EXERCISE = "exercise:"
CHECK = "check"
SOLUTIONS = "solutions"
BLOCK = re.compile(r"^# %% (exercise:\S+)[ \t]*$", re.MULTILINE)


def _tail(text, lines=8):
    """The last ``lines`` non-blank lines of a traceback, without terminal colours."""
    plain = ANSI_ESCAPE.sub("", str(text))
    return [line for line in plain.splitlines() if line.strip()][-lines:]


def exercise_of(cell):
    """The exercise tag (``exercise:NAME``) of a code cell, or None."""
    if cell.cell_type != "code":
        return None
    return next((t for t in cell.metadata.get("tags", []) if t.startswith(EXERCISE)), None)


def is_check(cell):
    return cell.cell_type == "code" and CHECK in cell.metadata.get("tags", [])


def read_solutions(path):
    """``{"exercise:NAME": source}`` from a solutions file ({} if there is none)."""
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        parts = BLOCK.split(f.read())
    # parts: [preamble, tag, body, tag, body, ...]
    return {tag: body.strip("\n") for tag, body in zip(parts[1::2], parts[2::2])}


class SolutionMismatch(Exception):
    """Exercise cells and solution blocks do not pair up."""


def solve(nb, solutions, keep=None):
    """Put each exercise's solution into its cell, except the exercise ``keep`` (as shipped)."""
    tags = [exercise_of(cell) for cell in nb.cells]
    named = [t for t in tags if t]
    missing = [t for t in named if t not in solutions]
    unused = [t for t in solutions if t not in named]
    if missing or unused or len(set(named)) != len(named):
        parts = [f"no solution for {', '.join(missing)}" if missing else "",
                 f"no exercise cell for {', '.join(unused)}" if unused else "",
                 "an exercise tag is used twice" if len(set(named)) != len(named) else ""]
        raise SolutionMismatch("; ".join(p for p in parts if p))
    for cell, tag in zip(nb.cells, tags):
        if tag and tag != keep:
            cell.source = solutions[tag]
    return named


def execute(nb, path, timeout, kernel):
    """Run ``nb``'s cells in order; None if all passed, else a failure dict naming the cell."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                            resources={"metadata": {"path": os.path.dirname(path)}})
    index = -1
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
    except CellTimeoutError:
        return {"cell": index, "error": "CellTimeoutError",
                "message": f"cell {index} ran longer than the {timeout:g} s timeout"}
    except CellExecutionError as exc:
        return {"cell": index, "error": exc.ename, "message": str(exc.evalue),
                "traceback": _tail(exc.traceback)}
    except DeadKernelError as exc:
        return {"cell": index, "error": "DeadKernelError", "message": str(exc)}
    return None


def run_notebook(path, timeout, kernel, solutions_file):
    """Run a notebook with its exercises solved: None if it passed, else a failure dict."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    try:
        solve(nb, read_solutions(solutions_file))
    except SolutionMismatch as exc:
        return {"cell": -1, "error": "SolutionMismatch", "message": str(exc)}
    return execute(nb, path, timeout, kernel)


def run_unsolved(path, timeout, kernel, solutions_file):
    """Leave each exercise unsolved in turn; return (failure or None, what each run showed)."""
    import nbformat

    solutions = read_solutions(solutions_file)
    shipped = nbformat.read(path, as_version=4)
    try:
        named = solve(nbformat.from_dict(shipped), solutions)
    except SolutionMismatch as exc:
        return {"cell": -1, "error": "SolutionMismatch", "message": str(exc)}, []
    caught = []
    for tag in named:
        nb = nbformat.from_dict(shipped)
        solve(nb, solutions, keep=tag)
        at = next(i for i, cell in enumerate(nb.cells) if exercise_of(cell) == tag)
        failure = execute(nb, path, timeout, kernel)
        if failure is None:
            return {"cell": at, "error": "UncheckedExercise",
                    "message": f"{tag}: the notebook runs to its end with this exercise "
                               "unsolved; add a 'check' cell whose assert fails on it"}, caught
        cell = failure["cell"]
        if not (cell > at and is_check(nb.cells[cell])):
            failure["message"] = (f"{tag}: unsolved, it fails outside its checks: "
                                  f"{failure['message']}")
            return failure, caught
        caught.append({"exercise": tag, "cell": cell, "error": failure["error"],
                       "message": failure["message"]})
    return None, caught


def _leave_out(root, names):
    """copytree's ignore: ``names`` at the top of ``root``, hidden files everywhere."""
    def ignore(folder, entries):
        top = os.path.abspath(folder) == os.path.abspath(root)
        return [e for e in entries if e.startswith(".") or (top and e in names)]
    return ignore


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--course", required=True)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--kernel", default="python3")
    parser.add_argument("--mode", choices=("solved", "unsolved"), default="solved")
    parser.add_argument("--leave-out", nargs="*", default=[SOLUTIONS])
    parser.add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)

    scratch = tempfile.mkdtemp(prefix="lms-execute-")
    work = os.path.join(scratch, "course")
    shutil.copytree(args.course, work, ignore=_leave_out(args.course, set(args.leave_out)))
    try:
        for notebook in args.notebooks:
            started = time.monotonic()
            solutions = os.path.join(args.course, SOLUTIONS, notebook[:-len(".ipynb")] + ".py")
            caught = []
            try:
                if args.mode == "unsolved":
                    failure, caught = run_unsolved(os.path.join(work, notebook), args.timeout,
                                                   args.kernel, solutions)
                else:
                    failure = run_notebook(os.path.join(work, notebook), args.timeout,
                                           args.kernel, solutions)
            except Exception as exc:
                failure = {"cell": -1, "error": type(exc).__name__, "message": str(exc)}
            report = {"notebook": notebook, "ok": failure is None,
                      "seconds": round(time.monotonic() - started, 2)}
            if args.mode == "unsolved":
                report["caught"] = caught
            report.update(failure or {})
            if report.get("error") == "SolutionMismatch":
                report["message"] = f"{os.path.relpath(solutions, args.course)}: {failure['message']}"
            print(json.dumps(report), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
