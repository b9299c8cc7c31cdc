"""``lms-content strip``: remove outputs and execution counts from lesson notebooks.

The stripping itself is nbstripout's; this adds what a course repo needs: notebooks found under
folders, missing cell ids added (nbformat 4.5), a ``--check`` mode for CI and pre-commit, and a
file rewritten only when its data changes (not for another indentation or final newline), and
then atomically, so an interrupted run leaves it whole.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import tempfile
from pathlib import Path

STRIP_METADATA = ["metadata.widgets", "cell.metadata.execution", "cell.metadata.collapsed"]


def find_notebooks(paths: list[str]) -> list[Path]:
    """Notebook files named, or found under named folders (hidden folders skipped)."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*.ipynb")
                if not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found


def stripped_text(path: Path) -> tuple[str, str]:
    """The file's text and its stripped form (outputs, counts and run metadata removed)."""
    import nbformat
    from nbformat.validator import normalize
    from nbstripout import strip_output

    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    nb.nbformat_minor = max(nb.nbformat_minor, 5)
    _, nb = normalize(nb, version=4, version_minor=nb.nbformat_minor)  # adds missing cell ids
    nb = nbformat.from_dict(nb)
    nb = strip_output(nb, keep_output=False, keep_count=False, keep_id=True,
                      extra_keys=STRIP_METADATA)
    return text, nbformat.writes(nb) + "\n"


def same_data(before: str, after: str) -> bool:
    """Whether two notebook texts hold the same JSON data (indentation, key order and a final
    newline do not count, nor text kept as one string or as a list of lines: editors' tools
    write notebooks in their own layout)."""
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines

    try:
        first, second = (nbformat.from_dict(json.loads(text)) for text in (before, after))
        return rejoin_lines(first) == rejoin_lines(second)
    except (ValueError, AttributeError, TypeError):
        return before == after


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file (keeping the file's mode), so an
    interrupted run leaves the old file or the new one, whole."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        except FileNotFoundError:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def run(args: argparse.Namespace) -> int:
    notebooks = find_notebooks(args.paths)
    changed = failed = 0
    for path in notebooks:
        try:
            before, after = stripped_text(path)
        except Exception as exc:
            print(f"{path}:1: notebook: cannot strip: {exc}".splitlines()[0], file=sys.stderr)
            failed += 1
            continue
        if same_data(before, after):
            continue
        changed += 1
        if args.check:
            print(f"{path}:1: notebook: has outputs or run metadata; run lms-content strip",
                  file=sys.stderr)
        else:
            _write_atomically(path, after)
            print(f"stripped {path}")
    verb = "need stripping" if args.check else "stripped"
    print(f"{len(notebooks)} notebook(s) checked, {changed} {verb}, {failed} unreadable")
    return 1 if failed or (args.check and changed) else 0


def add_parser(sub) -> None:
    cmd = sub.add_parser("strip", help="strip outputs and execution counts from notebooks")
    cmd.add_argument("paths", nargs="+", metavar="PATH", help="notebooks or folders of them")
    cmd.add_argument("--check", action="store_true",
                     help="change nothing; exit 1 if a notebook needs stripping")
    cmd.set_defaults(func=run)
