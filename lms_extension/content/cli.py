"""``lms-content``: check, scaffold, strip, run and inspect a course content repo.

``validate PATH`` prints one ``file:line: field: message`` line per problem and exits 1, or a
one-line summary and exits 0. ``catalog PATH`` prints the resolved courses as JSON.
``new-lesson``, ``strip``, ``fix`` and ``execute`` are in their own modules.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import execute, fix, images, scaffold, strip, z2jh
from .catalog import Catalog, load_catalog
from .errors import ContentError


def catalog_json(catalog: Catalog) -> dict:
    """The resolved catalog as plain data (what the hub and the LMS service consume)."""
    courses = []
    for slug, course in catalog.courses.items():
        data = course.model_dump(mode="json")
        data["folder"] = catalog.folders[slug]
        for lesson, model in zip(data["lessons"], course.lessons):
            lesson["environment"] = course.environment_name(model)
            lesson["survey"] = course.survey_name(model)
        data["surveys"] = {
            name: survey.model_dump(mode="json")
            for name, survey in catalog.surveys.get(slug, {}).items()
        }
        courses.append(data)
    return {"courses": courses}


def _load(path: str) -> Catalog | None:
    if not Path(path).exists():
        print(f"{path}:1: path: does not exist", file=sys.stderr)
        return None
    try:
        return load_catalog(Path(path))
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def validate(args: argparse.Namespace) -> int:
    catalog = _load(args.path)
    if catalog is None:
        return 1
    if args.allowed_images is not None:
        refused = images.policy_problems(catalog, images.parse_patterns(args.allowed_images))
        for problem in refused:
            print(problem, file=sys.stderr)
        if refused:
            return 1
    lessons = sum(len(c.lessons) for c in catalog.courses.values())
    notebooks = sum(len(lesson.notebooks) for c in catalog.courses.values() for lesson in c.lessons)
    print(f"{args.path}: OK: {len(catalog.courses)} course(s), {lessons} lesson(s), "
          f"{notebooks} notebook(s)")
    return 0


def catalog(args: argparse.Namespace) -> int:
    loaded = _load(args.path)
    if loaded is None:
        return 1
    json.dump(catalog_json(loaded), sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lms-content", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, text in (
        ("validate", validate, "check a content repo or one course folder"),
        ("catalog", catalog, "print the resolved courses as JSON"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("path", help="a content repo or a course folder")
        cmd.set_defaults(func=func)
        if name == "validate":
            cmd.add_argument("--allowed-images", metavar="PATTERNS",
                             help="the hub's allowed-image policy, comma-separated shell "
                                  "patterns (as LMS_ALLOWED_IMAGES, e.g. 'lms/*'): report "
                                  "every environment whose image it refuses")
    for module in (scaffold, strip, fix, execute, z2jh):
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback for bad input
        where = getattr(args, "path", None) or getattr(args, "course_dir", None) or "lms-content"
        print(f"{where}:1: {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
