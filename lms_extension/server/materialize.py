"""Bring a lesson's files from the read-only content version into the learner's home folder.

A lesson's notebooks land in ``<home>/<course-slug>/<path in the course>``, together with the
other files of their folders (data, images). A file the learner already has is never
overwritten: their edits always win. Files are written to a temporary name and renamed, so a
crash leaves no half-written notebook.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..content.loader import read_course
from ..content.model import check_relative_path

MAX_FILES = 2000


@dataclass
class Materialized:
    """What :func:`materialize` did, for logs and the ``/lms/api/context`` answer."""

    copied: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    first_notebook: str = ""


def _lesson_files(course_dir: Path, notebooks: list[str]) -> list[str]:
    """The notebooks plus every other file in their folders (not the course root's)."""
    files: list[str] = []
    for notebook in notebooks:
        folder = PurePosixPath(notebook).parent
        if str(folder) in ("", "."):
            files.append(notebook)
            continue
        for path in sorted((course_dir / folder).rglob("*")):
            rel = path.relative_to(course_dir).as_posix()
            if path.is_file() and not path.is_symlink() and "/." not in f"/{rel}":
                files.append(rel)
    unique = list(dict.fromkeys(files))
    if len(unique) > MAX_FILES:
        raise ValueError(f"lesson folders hold {len(unique)} files; the limit is {MAX_FILES}")
    return unique


def _copy_new(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.lms-tmp")
    shutil.copyfile(src, tmp)
    try:
        # link() refuses to replace: a file the learner created meanwhile is kept
        os.link(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def materialize(content_dir: Path, lesson_slug: str, home: Path, course_slug: str) -> Materialized:
    """Copy the lesson's files that the home folder lacks; keep every existing file."""
    # the content version was validated when it was published: no need to re-check notebooks
    course = read_course(content_dir / "course.yaml", check_notebooks=False)
    lesson = course.lesson(lesson_slug)
    if lesson is None:
        raise LookupError(f"course {course.slug!r} has no lesson {lesson_slug!r}")
    target = home / course_slug
    result = Materialized(first_notebook=f"{course_slug}/{lesson.notebooks[0]}")
    for rel in _lesson_files(content_dir, lesson.notebooks):
        rel = check_relative_path(rel)
        dest = target / rel
        if dest.exists() or dest.is_symlink():
            result.kept.append(f"{course_slug}/{rel}")
            continue
        try:
            _copy_new(content_dir / rel, dest)
        except FileExistsError:
            result.kept.append(f"{course_slug}/{rel}")
        else:
            result.copied.append(f"{course_slug}/{rel}")
    return result
