"""``lms-content fix``: rewrite a course's lesson notebooks so that they validate.

Notebooks brought from elsewhere are often nbformat 4.4 or older, without cell ids, with
properties that editors' tools leave behind (``prompt_number``, ``trusted`` or ``outputs`` on a
markdown cell, a top-level ``worksheets``) and with outputs. ``fix`` upgrades them to nbformat 4.5
(nbformat's own conversion), gives every cell a valid unique id, drops the properties outside
the nbformat schema (metadata is kept, but for known metadata keys whose value the schema
refuses), and strips outputs the way ``strip`` does. Only the notebooks a ``course.yaml`` lists
are touched, each rewritten atomically and only when its data changes; ``--check`` only reports.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

from .catalog import find_manifests
from .errors import ContentError, Problem
from .loader import read_course
from .notebooks import MAX_JSON_DEPTH, _schema_problems, _too_deep
from .strip import STRIP_METADATA, _write_atomically, same_data
from .tree import check_tree

# the largest notebook fix reads: outputs (images) make imported notebooks big; the stripped
# notebook must still be under notebooks.MAX_NOTEBOOK_BYTES to validate
MAX_FIX_BYTES = 100_000_000
CELL_KEYS = {
    "code": {"id", "cell_type", "metadata", "source", "outputs", "execution_count"},
    "markdown": {"id", "cell_type", "metadata", "source", "attachments"},
    "raw": {"id", "cell_type", "metadata", "source", "attachments"},
}
TOP_KEYS = {"metadata", "nbformat", "nbformat_minor", "cells"}
_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


class Unfixable(Exception):
    """A notebook ``fix`` cannot repair; the message is a ``field: message`` for the editor."""

    def __init__(self, field: str, message: str, line: int = 1):
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.line = field, message, line


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _upgrade(nb: dict, changes: list[str]) -> dict:
    """nbformat 4 (older major versions through nbformat's own converter)."""
    import nbformat

    major, minor = nb.get("nbformat"), nb.get("nbformat_minor")
    if major not in (1, 2, 3, 4):
        raise Unfixable("nbformat", f"is {major!r}; only nbformat 1 to 4 can be brought to 4.5")
    if major != 4:
        try:
            converted = nbformat.reads(json.dumps(nb), as_version=4,
                                       capture_validation_error={})
            nb = json.loads(json.dumps(converted))
        except Exception as exc:  # nbformat's converters raise anything on odd input
            raise Unfixable("nbformat", f"cannot convert nbformat {major} to 4: {exc}") from None
        changes.append(f"converted nbformat {major} to 4")
        minor = nb.get("nbformat_minor")
    if not isinstance(minor, int) or minor < 5:
        changes.append(f"nbformat 4.{minor if isinstance(minor, int) else '?'} to 4.5")
        nb["nbformat_minor"] = 5
    return nb


def _clean_structure(nb: dict, changes: list[str]) -> None:
    """Drop properties outside the schema, fill in required ones and give cells valid ids."""
    dropped_top = sorted(set(nb) - TOP_KEYS)
    for key in dropped_top:
        del nb[key]
    if dropped_top:
        changes.append("dropped top-level " + ", ".join(dropped_top))
    if not isinstance(nb.get("metadata"), dict):
        nb["metadata"] = {}
    kernel = nb["metadata"].get("kernelspec")
    if isinstance(kernel, dict) and isinstance(kernel.get("name"), str) \
            and "display_name" not in kernel:  # some tools write the name alone
        kernel["display_name"] = kernel["name"]
        changes.append("added metadata.kernelspec.display_name")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise Unfixable("cells", "is missing or not a list")
    dropped: Counter[str] = Counter()
    untyped = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise Unfixable(f"cells.{index}", "is not a JSON object")
        kind = cell.get("cell_type")
        if kind not in CELL_KEYS:
            untyped.append((index, kind))
            continue
        for key in sorted(set(cell) - CELL_KEYS[kind]):
            del cell[key]
            dropped[key] += 1
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
        cell.setdefault("source", "")
        if kind == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    if untyped:
        index, kind = untyped[0]
        if kind is None:
            raise Unfixable(f"cells.{index}.cell_type", 'cell has no cell_type; add "cell_type": '
                            '"code", "markdown" or "raw" by hand (no tool can tell which it was)')
        raise Unfixable(f"cells.{index}.cell_type",
                        f"is {kind!r}; a cell is code, markdown or raw")
    if dropped:
        changes.append("dropped cell properties " + ", ".join(
            f"{key} ({_plural(count, 'cell')})" for key, count in sorted(dropped.items())))
    _give_ids(cells, changes)


def _give_ids(cells: list[dict], changes: list[str]) -> None:
    from nbformat.corpus.words import generate_corpus_id

    seen: set[str] = set()
    added = replaced = 0
    for cell in cells:
        old = cell.get("id")
        if isinstance(old, str) and _ID.match(old) and old not in seen:
            seen.add(old)
            continue
        new = generate_corpus_id()
        while new in seen:
            new = generate_corpus_id()
        cell["id"] = new
        seen.add(new)
        if old is None:
            added += 1
        else:
            replaced += 1
    if added:
        changes.append(f"added {_plural(added, 'cell id')}")
    if replaced:
        changes.append(f"replaced {_plural(replaced, 'invalid or repeated cell id')}")


def _strip(nb: dict, changes: list[str]) -> dict:
    """Outputs, execution counts and run metadata removed by nbstripout, as ``strip`` does."""
    import nbformat
    from nbstripout import strip_output

    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    outputs = sum(1 for c in code if c.get("outputs"))
    counts = sum(1 for c in code if c.get("execution_count") is not None)
    stripped = strip_output(nbformat.from_dict(nb), keep_output=False, keep_count=False,
                            keep_id=True, extra_keys=STRIP_METADATA)
    if outputs:
        changes.append(f"stripped outputs of {_plural(outputs, 'cell')}")
    if counts:
        changes.append(f"cleared {_plural(counts, 'execution count')}")
    result = json.loads(json.dumps(stripped))
    removed = sorted(f"metadata.{key}" for key in set(nb["metadata"]) - set(result["metadata"]))
    cell_keys: Counter[str] = Counter()
    for old, new in zip(nb["cells"], result["cells"]):
        cell_keys.update(set(old["metadata"]) - set(new["metadata"]))
    removed += [f"cell metadata {key} ({_plural(count, 'cell')})"
                for key, count in sorted(cell_keys.items())]
    if removed:
        changes.append("removed run metadata " + ", ".join(removed))
    return result


def _drop_refused_metadata(nb: dict, changes: list[str]) -> None:
    """Known metadata keys whose values the schema refuses (a kernelspec without a name, tags
    that are not a list of strings) are dropped; anything else the schema refuses is Unfixable."""
    for _ in range(1000):  # each round drops at least one key
        problems = _schema_problems(nb, 5)
        if not problems:
            return
        loc, message = problems[0]
        if len(loc) >= 2 and loc[0] == "metadata":
            target, key, shown = nb["metadata"], loc[1], f"metadata.{loc[1]}"
        elif len(loc) >= 4 and loc[0] == "cells" and loc[2] in ("metadata", "attachments"):
            cell = nb["cells"][loc[1]]
            if loc[2] == "attachments":
                target, key, shown = cell, "attachments", f"cells.{loc[1]}.attachments"
            else:
                target, key, shown = cell["metadata"], loc[3], f"cells.{loc[1]}.metadata.{loc[3]}"
        else:
            raise Unfixable(".".join(map(str, loc)) or "notebook", f"{message}; fix it by hand")
        if not isinstance(key, str) or key not in target:
            raise Unfixable(".".join(map(str, loc)), f"{message}; fix it by hand")
        del target[key]
        changes.append(f"dropped {shown} ({message})")
    raise Unfixable("notebook", "does not match the nbformat 4.5 schema; fix it by hand")


def fixed_text(text: str) -> tuple[str, list[str]]:
    """The fixed notebook text and the changes made, in words; raises :class:`Unfixable`."""
    import nbformat

    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unfixable("notebook", f"invalid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise Unfixable("notebook", f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    if not isinstance(nb, dict):
        raise Unfixable("notebook", "must be a JSON object")
    deep = _too_deep(nb)
    if deep is not None:
        raise Unfixable(deep or "notebook", f"nested deeper than {MAX_JSON_DEPTH} levels")
    changes: list[str] = []
    nb = _upgrade(nb, changes)
    _clean_structure(nb, changes)
    nb = _strip(nb, changes)
    _drop_refused_metadata(nb, changes)
    return nbformat.writes(nbformat.from_dict(nb)) + "\n", changes


def _read(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FIX_BYTES:
            raise Unfixable("notebook", f"file is {size} bytes; the limit is {MAX_FIX_BYTES}")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Unfixable("notebook", "file is not UTF-8 text") from None
    except OSError as exc:
        raise Unfixable("notebook", f"cannot read: {exc.strerror}") from None


def lesson_notebooks(root: Path) -> list[tuple[Path, str]]:
    """``(file, name shown)`` for every notebook a course.yaml under ``root`` lists, once each;
    raises :class:`ContentError` when a course.yaml or a path in the repo does not check out."""
    manifests = find_manifests(root)
    if not manifests:
        raise ContentError([Problem(str(root), 1, "course", "no course.yaml found")])
    problems = check_tree(root, [m.parent.relative_to(root).as_posix() for m in manifests])
    if problems:
        raise ContentError(problems)
    found: dict[Path, str] = {}
    for manifest in manifests:
        try:
            course = read_course(manifest, root, check_notebooks=False)
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        for lesson in course.lessons:
            for notebook in lesson.notebooks:
                real = Path(os.path.realpath(manifest.parent / notebook))
                found.setdefault(real, str((manifest.parent / notebook).relative_to(root)))
    if problems:
        raise ContentError(problems)
    return list(found.items())


def run(args: argparse.Namespace) -> int:
    root = Path(args.path)
    if not root.is_dir():
        print(f"{root}:1: path: is not a folder", file=sys.stderr)
        return 1
    try:
        notebooks = lesson_notebooks(root)
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    changed = failed = 0
    for path, shown in notebooks:
        try:
            before = _read(path)
            after, changes = fixed_text(before)
        except Unfixable as exc:
            print(Problem(shown, exc.line, exc.field, exc.message), file=sys.stderr)
            failed += 1
            continue
        if same_data(before, after):
            continue
        changed += 1
        if args.check:
            print(f"{shown}:1: notebook: needs lms-content fix: {'; '.join(changes)}",
                  file=sys.stderr)
        else:
            _write_atomically(path, after)
            print(f"fixed {shown}: {'; '.join(changes)}")
    verb = "need fixing" if args.check else "fixed"
    print(f"{len(notebooks)} lesson notebook(s) checked, {changed} {verb}, "
          f"{failed} cannot be fixed")
    return 1 if failed or (args.check and changed) else 0


def add_parser(sub) -> None:
    cmd = sub.add_parser("fix", help="rewrite a course's lesson notebooks so that they validate")
    cmd.add_argument("path", help="a content repo or a course folder")
    cmd.add_argument("--check", action="store_true",
                     help="change nothing; report what would change and exit 1 if anything would")
    cmd.set_defaults(func=run)
