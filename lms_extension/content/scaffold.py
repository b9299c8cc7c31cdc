"""``lms-content new-lesson``: a lesson folder with a starter notebook, and its manifest entry.

The entry is inserted as text after the last lesson, so the editor's comments and layout in
``course.yaml`` stay as they were. The manifest and the new notebook are checked afterwards (the
other notebooks are left to ``validate``); if they do not check out, nothing is left changed and
the editor is told the lesson was not created.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

import yaml

from .errors import ContentError
from .loader import read_course
from .notebooks import check_notebook
from .model import SLUG


class ScaffoldError(Exception):
    pass


def starter_notebook(title: str) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n\nWhat learners will be able to do after "
                                      "this lesson."),
        nbformat.v4.new_code_cell("# Run this cell with Shift+Enter\nprint('ready')"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nbformat.writes(nb) + "\n"


def _entry(indent: int, slug: str, title: str, notebook: str, environment: str | None,
           due: str | None) -> str:
    pad = " " * indent
    lines = [f"{pad}- slug: {slug}", f"{pad}  title: {json.dumps(title, ensure_ascii=False)}",
             f"{pad}  notebooks: [{notebook}]"]
    if environment:
        lines.append(f"{pad}  environment: {environment}")
    if due:
        lines.append(f"{pad}  due: {json.dumps(due)}")
    return "\n".join(lines) + "\n"


def new_lesson(course_dir: Path, slug: str, title: str, environment: str | None = None,
               due: str | None = None) -> Path:
    """Create the lesson; return the new notebook's path. Raises ScaffoldError or ContentError."""
    manifest = course_dir / "course.yaml"
    if not re.fullmatch(SLUG, slug):
        raise ScaffoldError(f"slug: {slug!r} must be lower-case letters, digits and '-'")
    course = read_course(manifest, course_dir, check_notebooks=False)
    if course.lesson(slug):
        raise ScaffoldError(f"slug: the course already has a lesson {slug!r}")
    if environment and environment not in course.environments:
        names = ", ".join(sorted(course.environments))
        raise ScaffoldError(f"environment: {environment!r} is not one of the environments ({names})")
    text = manifest.read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    lessons = next(v for k, v in root.value if k.value == "lessons")
    if lessons.flow_style:
        raise ScaffoldError("lessons: written inline ([...]); add the lesson by hand")
    folder = f"{len(course.lessons) + 1:02d}-{slug}"
    if (course_dir / folder).exists():
        raise ScaffoldError(f"{folder}: already exists")
    notebook = f"{folder}/{slug}.ipynb"
    indent = lessons.value[-1].start_mark.column - 2
    at = lessons.end_mark.index
    if at and text[at - 1] != "\n":  # the list ends the file without a newline
        text, at = text + "\n", len(text) + 1
    new_text = text[:at] + _entry(max(indent, 0), slug, title, notebook, environment, due) + text[at:]

    original = manifest.read_bytes()
    (course_dir / folder).mkdir()
    try:
        (course_dir / notebook).write_text(starter_notebook(title), encoding="utf-8")
        manifest.write_text(new_text, encoding="utf-8")
        # the new entry and the new notebook must check out; other notebooks are not this
        # command's business (validate reports them)
        read_course(manifest, course_dir, check_notebooks=False)
        problems = check_notebook(course_dir / notebook, notebook)
        if problems:
            raise ContentError(problems)
    except BaseException:
        manifest.write_bytes(original)
        shutil.rmtree(course_dir / folder)
        raise
    return course_dir / notebook


def run(args: argparse.Namespace) -> int:
    course_dir = Path(args.course_dir)
    if not (course_dir / "course.yaml").is_file():
        print(f"{course_dir}:1: course: no course.yaml in this folder", file=sys.stderr)
        return 1
    manifest = course_dir / "course.yaml"
    not_created = (f"{manifest}:1: lessons: lesson {args.slug!r} was not created; nothing was "
                   "changed")
    try:
        path = new_lesson(course_dir, args.slug, args.title, args.environment, args.due)
    except ScaffoldError as exc:
        print(f"{manifest}:1: {exc}", file=sys.stderr)
        print(not_created, file=sys.stderr)
        return 1
    except ContentError as exc:
        for problem in exc.problems:
            print(f"{course_dir}/{problem}", file=sys.stderr)
        print(not_created, file=sys.stderr)
        return 1
    print(f"created {path} and added lesson {args.slug!r} to {course_dir / 'course.yaml'}")
    return 0


def add_parser(sub) -> None:
    cmd = sub.add_parser("new-lesson", help="scaffold a lesson folder and its course.yaml entry")
    cmd.add_argument("course_dir", help="the course folder (holding course.yaml)")
    cmd.add_argument("slug", help="the lesson's slug, e.g. attention-basics")
    cmd.add_argument("--title", required=True, help="the lesson's title")
    cmd.add_argument("--environment", help="environment name (default: the course's default)")
    cmd.add_argument("--due", help="due offset from the cohort start (7d, 12h, 2w), an ISO "
                                   "date (the end of that day, UTC) or a date-time with a zone")
    cmd.set_defaults(func=run)
