"""``lms-content``: check and inspect a course content repo.

``lms-content validate PATH`` prints one ``file:line: field: message`` line per problem and exits 1,
or a one-line summary and exits 0. ``lms-content catalog PATH`` prints the resolved courses as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .catalog import Catalog, load_catalog
from .errors import ContentError


def catalog_json(catalog: Catalog) -> dict:
    """The resolved catalog as plain data (what the hub and the LMS service consume)."""
    courses = []
    for slug, course in catalog.courses.items():
        data = course.model_dump(mode="json")
        data["folder"] = catalog.folders[slug]
        for lesson in data["lessons"]:
            lesson["environment"] = lesson["environment"] or course.default_environment
        courses.append(data)
    return {"courses": courses}


def _run(args: argparse.Namespace) -> int:
    if not Path(args.path).exists():
        print(f"{args.path}:1: path: does not exist", file=sys.stderr)
        return 1
    try:
        catalog = load_catalog(Path(args.path))
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    if args.command == "validate":
        lessons = sum(len(c.lessons) for c in catalog.courses.values())
        print(f"{args.path}: OK: {len(catalog.courses)} course(s), {lessons} lesson(s)")
    else:
        json.dump(catalog_json(catalog), sys.stdout, indent=2)
        print()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lms-content", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("validate", "check a content repo or one course folder"),
        ("catalog", "print the resolved courses as JSON"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("path", help="a content repo or a course folder")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except Exception as exc:  # never a traceback for bad input
        print(f"{args.path}:1: content: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
