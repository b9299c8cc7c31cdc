"""Run a lesson's notebooks with nbclient and report each as one JSON line on stdout.

``lms-content execute`` mounts this file into the lesson's image and runs it there with the
image's Python (or runs it with the current Python for ``--local``). It needs only nbformat,
nbclient and a ``python3`` kernel, which every lesson image has. The course folder is copied to
a scratch folder first, so lessons may write files next to their notebooks.

    python nbrun.py --course DIR --timeout SECONDS NOTEBOOK [NOTEBOOK ...]
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


def _tail(text, lines=8):
    """The last ``lines`` non-blank lines of a traceback, without terminal colours."""
    plain = ANSI_ESCAPE.sub("", str(text))
    return [line for line in plain.splitlines() if line.strip()][-lines:]


def run_notebook(path, timeout, kernel):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
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


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--course", required=True)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--kernel", default="python3")
    parser.add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)

    scratch = tempfile.mkdtemp(prefix="lms-execute-")
    work = os.path.join(scratch, "course")
    shutil.copytree(args.course, work, ignore=shutil.ignore_patterns(".git"))
    try:
        for notebook in args.notebooks:
            started = time.monotonic()
            try:
                failure = run_notebook(os.path.join(work, notebook), args.timeout, args.kernel)
            except Exception as exc:
                failure = {"cell": -1, "error": type(exc).__name__, "message": str(exc)}
            report = {"notebook": notebook, "ok": failure is None,
                      "seconds": round(time.monotonic() - started, 2)}
            report.update(failure or {})
            print(json.dumps(report), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
