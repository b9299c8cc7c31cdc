"""The course format (``course.yaml``) as pydantic models.

The models are the single definition of the format: the validator, the hub's spawner and the
LMS service all read courses through them.
"""

from __future__ import annotations

import posixpath
import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .due import parse_due
from .text import Localized, Text, Texts, texts_field

# the one slug pattern (courses, lessons, surveys, questions); SLUG unanchored, to build
# larger patterns from (route patterns, ``course/lesson`` keys)
SLUG = r"[a-z0-9][a-z0-9-]{0,62}"
SLUG_PATTERN = f"^{SLUG}$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]
# the longest path of a file inside its course folder (learners' homes hold it under the
# course's slug, and events name it): see also :mod:`.tree`
MAX_PATH = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_relative_path(value: str) -> str:
    """Refuse paths that are absolute, leave the course folder, hold control characters or are
    longer than :data:`MAX_PATH`."""
    if _CONTROL.search(value):
        raise ValueError(f"{value!r} holds a control character")
    if len(value) > MAX_PATH:
        raise ValueError(f"{value[:40]!r}… is {len(value)} characters long; the limit is "
                         f"{MAX_PATH}")
    if not value or value.startswith(("/", "\\")) or "\\" in value:
        raise ValueError(f"{value!r} must be a relative path with '/' separators")
    normal = posixpath.normpath(value)
    if normal == ".." or normal.startswith("../"):
        raise ValueError(f"{value!r} leaves the course folder")
    return normal


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_BYTES = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)$")
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_bytes(value: str) -> int:
    """``"512M"``, ``"2G"``, ``"1.5G"`` or a plain number of bytes, as bytes."""
    match = _BYTES.match(str(value).strip().upper())
    if not match:
        raise ValueError(f"{value!r} is not a size like 512M or 2G")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


class Resources(_Strict):
    """What one lesson server of an environment may use; the hub's caps have the last word."""

    memory: str | None = None  # e.g. 4G
    cpus: float | None = Field(default=None, gt=0, le=256)
    pids: int | None = Field(default=None, ge=64, le=1_000_000)
    shm: str | None = None  # /dev/shm size, e.g. 1G (PyTorch data loaders need room)

    @field_validator("memory", "shm")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None and parse_bytes(value) < 2**20:
            raise ValueError(f"{value!r} is less than 1M")
        return value


class Environment(_Strict):
    """A named runtime for lessons: one Docker image, optionally with GPUs and resources."""

    image: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")
    gpu: int = Field(default=0, ge=0, le=16)
    resources: Resources = Resources()
    # another environment to run in when no GPU is free (a lesson that also works on CPU)
    cpu_fallback: str | None = None


class Completion(_Strict):
    """When a lesson counts as completed.

    ``executed``: once ``fraction`` of the code cells of its notebooks have run without error
    (the default: all of them). ``manual``: when the learner marks it complete. ``checks``:
    once its knowledge checks are passed; ``checks: true`` adds that to ``executed``
    (:mod:`.checks`).
    """

    rule: Literal["executed", "manual", "checks"] = "executed"
    fraction: float = Field(default=1.0, gt=0, le=1)
    checks: bool = False

    @model_validator(mode="after")
    def _checks_with_rule(self):
        if self.checks and self.rule == "manual":
            raise PydanticCustomError(
                "completion", "checks: true goes with rule executed (or use rule: checks)")
        return self

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return {"rule": value} if isinstance(value, str) else value


class Lesson(_Strict, Localized):
    """One lesson: an ordered list of notebooks run in one environment."""

    LOCALIZED = {"title": "titles"}
    slug: Slug
    title: Text(200)
    titles: Texts = texts_field()
    notebooks: list[str] = Field(min_length=1)
    environment: str | None = None
    due: str | None = None
    # a survey name (surveys/<name>.yaml), false for none, or unset for the course's survey
    survey: str | Literal[False] | None = None
    completion: Completion = Completion()

    @field_validator("survey", mode="before")
    @classmethod
    def _survey(cls, value: object) -> object:
        if value is None or value is False:
            return value
        if not isinstance(value, str) or not re.fullmatch(SLUG, value):
            raise ValueError(f"{value!r} must be a survey name (surveys/<name>.yaml) or false")
        return value

    @field_validator("notebooks")
    @classmethod
    def _notebook_paths(cls, value: list[str]) -> list[str]:
        paths = [check_relative_path(v) for v in value]
        for path in paths:
            if not path.endswith(".ipynb"):
                raise ValueError(f"{path!r} is not a .ipynb notebook")
        return paths

    @field_validator("due", mode="before")
    @classmethod
    def _due_date(cls, value: object) -> object:
        """An unquoted ``due: 2027-03-01`` (or ``2027-03-01T09:00:00+09:00``) is a date (a
        date-time) to YAML: the same as the quoted text."""
        return value.isoformat() if isinstance(value, date) else value

    @field_validator("due")
    @classmethod
    def _due(cls, value: str | None) -> str | None:
        """An offset of at most ten years or a date from 2000 to 2199 (:mod:`.due`)."""
        if value is not None:
            parse_due(value)
        return value


class Course(_Strict, Localized):
    """A course: its environments and its ordered lessons."""

    LOCALIZED = {"title": "titles", "description": "descriptions"}
    slug: Slug
    title: Text(200)
    titles: Texts = texts_field()
    description: Text(5000, empty=True) = ""
    descriptions: Texts = texts_field()
    environments: dict[str, Environment] = Field(min_length=1)
    default_environment: str
    survey: Slug | None = None
    lessons: list[Lesson] = Field(min_length=1)

    def reference_problems(self) -> list[tuple[tuple, str]]:
        """Cross-references the schema cannot express, as ``(location, message)`` pairs."""
        problems: list[tuple[tuple, str]] = []
        names = ", ".join(sorted(self.environments))
        if self.default_environment not in self.environments:
            problems.append(
                (("default_environment",),
                 f"{self.default_environment!r} is not one of the environments ({names})")
            )
        for name, env in self.environments.items():
            fallback = env.cpu_fallback
            if fallback is None:
                continue
            if fallback not in self.environments:
                problems.append((("environments", name, "cpu_fallback"),
                                 f"{fallback!r} is not one of the environments ({names})"))
            elif self.environments[fallback].gpu:
                problems.append((("environments", name, "cpu_fallback"),
                                 f"{fallback!r} needs a GPU itself"))
        seen: set[str] = set()
        listed: dict[str, str] = {}  # notebook path -> the lesson that lists it first
        for index, lesson in enumerate(self.lessons):
            if lesson.slug in seen:
                problems.append(((("lessons", index, "slug")), f"{lesson.slug!r} is used twice"))
            seen.add(lesson.slug)
            for number, notebook in enumerate(lesson.notebooks):
                first = listed.get(notebook)
                if first is not None:
                    where = ("this lesson" if first == lesson.slug else f"lesson {first!r}")
                    problems.append((("lessons", index, "notebooks", number),
                                     f"{notebook} is already listed in {where}; a notebook "
                                     "belongs to one lesson, once"))
                listed.setdefault(notebook, lesson.slug)
            if lesson.environment is not None and lesson.environment not in self.environments:
                problems.append(
                    (("lessons", index, "environment"),
                     f"{lesson.environment!r} is not one of the environments ({names})")
                )
        return problems

    def lesson(self, slug: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.slug == slug), None)

    def environment_name(self, lesson: Lesson) -> str:
        return lesson.environment or self.default_environment

    def survey_name(self, lesson: Lesson) -> str | None:
        """The survey asked after ``lesson``, or None."""
        if lesson.survey is False:
            return None
        return lesson.survey or self.survey

    def survey_names(self) -> set[str]:
        """Every survey some lesson of this course asks."""
        return {name for lesson in self.lessons if (name := self.survey_name(lesson))}
