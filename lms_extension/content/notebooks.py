"""Checks for a lesson notebook: readable, valid nbformat 4 with cell ids, outputs stripped.

Problems carry the line of the notebook's JSON where the offending cell starts, so an editor can
jump to it; the field names the cell (``cells.3.outputs``).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path

from .errors import Problem

MAX_NOTEBOOK_BYTES = 2_000_000
# the deepest nesting of objects and lists in a notebook's JSON (nbformat itself needs four)
MAX_JSON_DEPTH = 64
_CELL_START = re.compile(r'^\s*"cell_type"\s*:', re.MULTILINE)


def _too_deep(data: object) -> str | None:
    """The path of the first object or list nested deeper than :data:`MAX_JSON_DEPTH`, or None
    (walked without recursion)."""
    stack: list[tuple[object, tuple, int]] = [(data, (), 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict):
            children = value.items()
        elif isinstance(value, list):
            children = enumerate(value)
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            return ".".join(map(str, path[:6]))
        stack.extend((child, (*path, key), depth + 1) for key, child in children)
    return None


def _cell_lines(text: str, count: int) -> list[int]:
    """1-based line of each of the ``count`` cells: of its ``cell_type`` key when every cell has
    one, else of the cell's opening brace (a slower scan of the JSON text)."""
    lines = [text.count("\n", 0, m.start()) + 1 for m in _CELL_START.finditer(text)]
    return lines if len(lines) == count else _cell_starts(text)


def _cell_starts(text: str) -> list[int]:
    """1-based line of each object directly inside the top-level ``"cells"`` list."""
    lines: list[int] = []
    depth, line, in_string, escaped, key, cells_depth = 0, 1, False, False, "", None
    start = 0
    for index, char in enumerate(text):
        if char == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                key = text[start:index]
        elif char == '"':
            in_string, start = True, index + 1
        elif char in "{[":
            if char == "[" and depth == 1 and key == "cells":
                cells_depth = depth + 1
            elif char == "{" and depth == cells_depth:
                lines.append(line)
            depth += 1
        elif char in "}]":
            depth -= 1
            if cells_depth is not None and depth < cells_depth:
                cells_depth = None
    return lines


@functools.cache
def _fast_validator(minor: int):
    """nbformat's own v4 schema compiled with fastjsonschema (importing nbformat costs ~0.7 s)."""
    import fastjsonschema

    schemas = Path(importlib.util.find_spec("nbformat").origin).parent / "v4"
    path = schemas / f"nbformat.v4.{minor}.schema.json"
    if not path.is_file():
        return None
    return fastjsonschema.compile(json.loads(path.read_text(encoding="utf-8")))


def _schema_problems(nb: dict, minor: int) -> list[tuple[tuple, str]]:
    """nbformat's JSON schema errors as ``(path, message)``; the fast validator first."""
    fast = _fast_validator(minor)
    if fast is None:
        return [((), f"nbformat 4.{minor} is not a version this tool knows")]
    try:
        fast(nb)
        return []
    except Exception:
        pass
    from jsonschema.exceptions import best_match
    from nbformat.validator import get_validator

    detailed = get_validator(version=4, version_minor=minor, name="jsonschema")
    found = []
    for error in detailed.iter_errors(nb):
        if error.context:  # a oneOf over cell types: report the error of the cell's own type
            error = best_match(_own_branch(error.context))
        found.append((tuple(error.absolute_path), error.message))
    return found or [((), "does not match the nbformat 4 schema")]


def _own_branch(errors: list) -> list:
    """The errors of the oneOf branches that accept the cell's ``cell_type``."""
    branches: dict[object, list] = {}
    for error in errors:
        branches.setdefault(error.relative_schema_path[0], []).append(error)
    own = [
        errs for errs in branches.values()
        if not any(list(e.relative_path) == ["cell_type"] for e in errs)
    ]
    return own[0] if len(own) == 1 else errors


def check_notebook(path: Path, shown: str) -> list[Problem]:
    """Every problem with the notebook at ``path`` (``shown`` is its name in messages)."""

    def problem(line: int, field: str, message: str) -> Problem:
        return Problem(shown, line, field, message)

    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            return [problem(1, "notebook", f"file is {size} bytes; the limit is {MAX_NOTEBOOK_BYTES}")]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [problem(1, "notebook", "file is not UTF-8 text")]
    except OSError as exc:
        return [problem(1, "notebook", f"cannot read: {exc.strerror}")]
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        return [problem(exc.lineno, "notebook", f"invalid JSON: {exc.msg}")]
    except RecursionError:
        return [problem(1, "notebook", f"nested deeper than {MAX_JSON_DEPTH} levels")]
    if not isinstance(nb, dict):
        return [problem(1, "notebook", "must be a JSON object")]
    deep = _too_deep(nb)
    if deep is not None:
        return [problem(1, deep or "notebook", f"nested deeper than {MAX_JSON_DEPTH} levels")]
    major, minor = nb.get("nbformat"), nb.get("nbformat_minor")
    if major != 4 or not isinstance(minor, int):
        return [problem(1, "nbformat", f"is {major!r}; lesson notebooks must be nbformat 4")]
    if minor < 5:
        return [problem(1, "nbformat_minor", f"is {minor}; cell ids need nbformat 4.5 or newer "
                        "(lms-content fix upgrades it)")]

    cells = nb.get("cells") if isinstance(nb.get("cells"), list) else []
    lines = _cell_lines(text, len(cells))

    def line_of(loc: tuple) -> int:
        if len(loc) >= 2 and loc[0] == "cells" and isinstance(loc[1], int) and loc[1] < len(lines):
            return lines[loc[1]]
        return 1

    untyped = [i for i, c in enumerate(cells) if isinstance(c, dict) and "cell_type" not in c]
    if untyped:  # nothing else about such a cell makes sense, and no tool can guess its type
        return [problem(line_of(("cells", index)), f"cells.{index}.cell_type",
                        'cell has no cell_type; add "cell_type": "code", "markdown" or "raw" '
                        "by hand (no tool can tell which it was)") for index in untyped]
    problems = []
    missing_ids = [i for i, c in enumerate(cells) if isinstance(c, dict) and "id" not in c]
    for index in missing_ids:
        problems.append(problem(line_of(("cells", index)), f"cells.{index}.id",
                                "cell has no id (lms-content fix adds ids)"))
    if not missing_ids:
        for loc, message in _schema_problems(nb, minor):
            if message.startswith("Additional properties are not allowed"):
                message += " (lms-content fix drops it)"
            problems.append(problem(line_of(loc), ".".join(map(str, loc)) or "notebook", message))
    if problems:
        return problems

    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        where = line_of(("cells", index))
        if cell["id"] in seen:
            problems.append(problem(where, f"cells.{index}.id",
                                    f"{cell['id']!r} is also the id of cell {seen[cell['id']]}"))
        seen.setdefault(cell["id"], index)
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs"):
            problems.append(problem(where, f"cells.{index}.outputs",
                                    "has outputs; strip them with lms-content strip"))
        elif cell.get("execution_count") is not None:
            problems.append(problem(where, f"cells.{index}.execution_count",
                                    "is set; strip it with lms-content strip"))
    return problems
