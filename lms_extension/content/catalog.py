"""The catalog: every course of a content checkout, and lesson look-up by ``course/lesson``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .checks import CheckSet, read_checks
from .errors import ContentError, LessonNotFound, Problem
from .loader import read_course, read_survey
from .model import Course, Environment, Lesson
from .survey import Survey
from .tree import check_tree

MANIFEST = "course.yaml"


@dataclass(frozen=True)
class LessonRef:
    """A resolved lesson: where it lives and what it runs in."""

    course: Course
    lesson: Lesson
    environment_name: str
    environment: Environment
    course_dir: str  # relative to the content root, "" for a course at the root

    @property
    def key(self) -> str:
        return f"{self.course.slug}/{self.lesson.slug}"

    @property
    def first_notebook(self) -> str:
        return self.lesson.notebooks[0]


@dataclass
class Catalog:
    """Courses by slug, with the folder each lives in."""

    root: Path
    courses: dict[str, Course] = field(default_factory=dict)
    folders: dict[str, str] = field(default_factory=dict)
    # course slug -> survey name -> survey, for every survey a lesson of that course asks
    surveys: dict[str, dict[str, Survey]] = field(default_factory=dict)
    # course slug -> lesson slug -> knowledge checks, answer keys included (never served)
    checks: dict[str, dict[str, CheckSet]] = field(default_factory=dict)

    def resolve(self, key: object) -> LessonRef:
        """Look up ``"course/lesson"``; raise :class:`LessonNotFound` naming what is missing."""
        if not isinstance(key, str) or key.count("/") != 1:
            raise LessonNotFound(f"lesson must be a string 'course/lesson', not {key!r}")
        course_slug, lesson_slug = key.split("/")
        course = self.courses.get(course_slug)
        if course is None:
            raise LessonNotFound(f"unknown course {course_slug!r}")
        lesson = course.lesson(lesson_slug)
        if lesson is None:
            raise LessonNotFound(f"course {course_slug!r} has no lesson {lesson_slug!r}")
        env_name = course.environment_name(lesson)
        return LessonRef(
            course=course,
            lesson=lesson,
            environment_name=env_name,
            environment=course.environments[env_name],
            course_dir=self.folders[course_slug],
        )

    def lessons(self) -> list[LessonRef]:
        """Every lesson, course by course, in course order."""
        return [
            self.resolve(f"{course.slug}/{lesson.slug}")
            for course in self.courses.values()
            for lesson in course.lessons
        ]


def find_manifests(root: Path) -> list[Path]:
    """``course.yaml`` files under ``root`` (the root itself, or course folders below it)."""
    if (root / MANIFEST).is_file():
        return [root / MANIFEST]
    return sorted(
        p
        for p in root.rglob(MANIFEST)
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def load_catalog(root: Path | str) -> Catalog:
    """Read every course under ``root``; raise :class:`ContentError` listing every problem."""
    root = Path(root)
    catalog = Catalog(root=root)
    manifests = find_manifests(root)
    # every path and link first: no file is read through a link that leaves the repo
    problems = check_tree(root, [m.parent.relative_to(root).as_posix() for m in manifests])
    if problems:
        raise ContentError(problems)
    if not manifests:
        raise ContentError([Problem(str(root), 1, "course", f"no {MANIFEST} found")])
    for manifest in manifests:
        try:
            course = read_course(manifest, root)
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        shown = str(manifest.relative_to(root))
        if course.slug in catalog.courses:
            first = catalog.folders[course.slug] or "."
            problems.append(Problem(shown, 1, "slug", f"course slug {course.slug!r} is also "
                                                      f"the slug of {first}/{MANIFEST}"))
            continue
        surveys = {}
        for name in sorted(course.survey_names()):
            try:
                surveys[name] = read_survey(manifest.parent / "surveys" / f"{name}.yaml", root)
            except ContentError as exc:
                problems.extend(exc.problems)
        try:
            catalog.checks[course.slug] = read_checks(manifest.parent, root, course)
        except ContentError as exc:
            problems.extend(exc.problems)
        catalog.courses[course.slug] = course
        catalog.surveys[course.slug] = surveys
        folder = manifest.parent.relative_to(root)
        catalog.folders[course.slug] = "" if str(folder) == "." else folder.as_posix()
    if problems:
        raise ContentError(problems)
    return catalog
