"""Every path of a content repo, checked before any file in it is read.

A content version is exported from git, published to learners' homes and read by the hub and
the LMS service, so every path in it (notebooks, surveys, data files, hidden files alike) must
stay where it is put:

- a symlink may not point to an absolute path, nor out of the content repo, nor out of the
  course folder it lies in (learners get the course folder alone); a loop of links is refused;
- a name may not hold control characters and must be UTF-8;
- a path inside its course folder is at most :data:`~.model.MAX_PATH` characters.

Problems name the path, line 1 and the field ``symlink`` or ``path``.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from .errors import Problem
from .model import MAX_PATH

SKIPPED = frozenset({".git"})  # a checkout's own git folder (never part of a commit's tree)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def shown_path(path: str) -> str:
    """``path`` as a message may carry it: one line, valid UTF-8."""
    text = path.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def outside_repo(path: str, target: str) -> Problem:
    """The problem of a symlink at ``path`` (inside the repo) that points to ``target`` out of
    the repo, as both the validator and the export of a content version word it."""
    if os.path.isabs(target):
        return Problem(shown_path(path), 1, "symlink", f"points to the absolute path "
                       f"{shown_path(target)!r}; links must stay inside the course folder")
    return Problem(shown_path(path), 1, "symlink",
                   f"points to {shown_path(target)!r}, outside the content repo")


def _course_of(rel: PurePosixPath, courses: list[PurePosixPath]) -> PurePosixPath | None:
    """The deepest course folder holding ``rel``."""
    held = [c for c in courses if c == PurePosixPath(".") or rel.is_relative_to(c)]
    return max(held, key=lambda c: len(c.parts), default=None)


def _name_problem(name: str, rel: str) -> Problem | None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return Problem(shown_path(rel), 1, "path", "the name is not UTF-8")
    if _CONTROL.search(name):
        return Problem(shown_path(rel), 1, "path", "the name holds a control character")
    return None


def _link_problem(path: Path, rel: str, root: Path, course: PurePosixPath | None
                  ) -> Problem | None:
    target = os.readlink(path)
    if os.path.isabs(target):
        return outside_repo(rel, target)
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Problem(shown_path(rel), 1, "symlink",
                           f"points to {shown_path(target)!r}: a loop of links")
    resolved = Path(os.path.realpath(path))
    if not resolved.is_relative_to(root):
        return outside_repo(rel, target)
    folder = root / course if course is not None else root
    if not resolved.is_relative_to(folder):
        return Problem(shown_path(rel), 1, "symlink",
                       f"points to {shown_path(target)!r}, outside the course folder "
                       f"{course.as_posix()}")
    return None


def check_tree(root: Path, course_dirs: Iterable[str] = ()) -> list[Problem]:
    """Every problem with the paths under ``root``; ``course_dirs`` are the course folders
    (relative to ``root``; ``""`` for a course at the root). Nothing is read but names and
    links, and links are never followed."""
    root = Path(os.path.realpath(root))
    courses = [PurePosixPath(c or ".") for c in course_dirs]
    problems: list[Problem] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED)
        here = Path(dirpath)
        for name in sorted(dirnames + filenames):
            path = here / name
            rel = path.relative_to(root).as_posix()
            problem = _name_problem(name, rel)
            if problem is not None:
                problems.append(problem)
                continue
            course = _course_of(PurePosixPath(rel), courses)
            inside = PurePosixPath(rel).relative_to(course) if course is not None else rel
            if len(str(inside)) > MAX_PATH:
                problems.append(Problem(shown_path(rel), 1, "path",
                                        f"is {len(str(inside))} characters long inside its "
                                        f"folder; the limit is {MAX_PATH}"))
            if path.is_symlink():
                problem = _link_problem(path, rel, root, course)
                if problem is not None:
                    problems.append(problem)
    return problems
