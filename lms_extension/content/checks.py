"""Knowledge checks: questions a lesson asks, graded by the LMS service.

A lesson's checks live in ``checks/<lesson-slug>.yaml`` next to ``course.yaml``, questions and
answer keys in the same file. ``checks/`` is left out of the learner repos (like
``course.yaml`` and ``surveys/``, see :mod:`.learner_repo`), so the keys never reach a lesson
container; the service keeps them apart from the catalog it serves and gives learners the
questions only (:meth:`CheckSet.public`)::

    # checks/numpy-basics.yaml
    title: {en: NumPy basics check, ko: 넘파이 기초 확인}    # optional
    pass_mark: 0.75        # optional: fraction of questions right in one attempt (default 1)
    questions:
      - id: dtype                       # a slug, unique in the file
        type: single                    # exactly one option
        text: {en: "dtype of np.array([1, 2.5])?", ko: "np.array([1, 2.5])의 dtype은?"}
        options: [int64, float64, {en: object, ko: 객체}]
        answer: float64                 # key: one of the options (its English text)
      - id: views
        type: multiple                  # any number of options
        text: Which of these return a view?
        options: [a.T, "a[1:3]", a.copy()]
        answer: [a.T, "a[1:3]"]         # key: every right option, no other
      - id: mean
        type: numeric
        text: np.arange(6).mean()?
        answer: 2.5                     # key: a number
        tolerance: 0.01                 # optional, >= 0: |given - answer| <= tolerance is right
      - id: axis
        type: text
        text: Which keyword sums over rows?
        answer: [axis, "axis=0"]        # key: accepted answers (a string or a list);
                                        # compared ignoring case and all whitespace

Texts (``title``, ``text``, each of ``options``) are a plain string or ``{en: …, ko: …}``
(:mod:`.text`); an option is named in ``answer`` and in learners' answers by its English
text. A file for a lesson the course does not have, an ``answer`` that is not one of the
options, a ``tolerance`` below 0, two questions with one id: ``lms-content validate`` prints a
``file:line: field: message`` line for each.

A lesson's completion rule may require its checks (``course.yaml``)::

    completion: checks                           # completed once its checks are passed
    completion: {rule: executed, checks: true}   # its cells run AND its checks passed

A learner passes a lesson's checks with an attempt in which at least ``pass_mark`` of the
questions are right; every attempt is kept.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .errors import ContentError, Problem
from .model import SLUG, Course, Slug
from .text import Localized, Text, Texts, default_text, texts_field

FOLDER = "checks"
MAX_QUESTIONS = 50
MAX_TEXT_ANSWER = 500
_SPACE = re.compile(r"\s+")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("knowledge_check", message)


def normalise_text(value: str) -> str:
    """A text answer as compared: lower case, all whitespace removed."""
    return _SPACE.sub("", value).casefold()


class _Question(_Strict, Localized):
    LOCALIZED = {"text": "texts"}
    id: Slug
    text: Text(500)
    texts: Texts = texts_field()

    def public(self) -> dict:
        """The question as learners get it: everything but the key."""
        return self.model_dump(mode="json", exclude={"answer", "tolerance"})


class _ChoiceQuestion(_Question):
    LOCALIZED = {"text": "texts", "options": "labels"}
    options: list[Text(200)] = Field(min_length=2, max_length=20)
    labels: list[Texts] = Field(default_factory=list)

    @field_validator("options")
    @classmethod
    def _distinct(cls, value: list) -> list:
        shown = [default_text(o) if isinstance(o, dict) else o for o in value]
        if len(set(shown)) != len(shown):
            raise _fail("options must be distinct")
        return value

    def _known(self, value: object, where: str = "answer") -> str:
        if not isinstance(value, str) or value not in self.options:
            shown = ", ".join(repr(o) for o in self.options)
            raise ValueError(f"{where}: {value!r} is not one of the options ({shown})")
        return value


def _option_texts(info: ValidationInfo) -> list[str] | None:
    """The options given before ``answer`` (None when they were refused themselves)."""
    options = info.data.get("options")
    if options is None:
        return None
    return [default_text(o) if isinstance(o, dict) else o for o in options]


def _not_an_option(value: object, options: list[str]) -> PydanticCustomError:
    shown = ", ".join(repr(o) for o in options)
    return _fail(f"{value!r} is not one of the options ({shown})")


class SingleChoice(_ChoiceQuestion):
    type: Literal["single"]
    answer: str

    @field_validator("answer")
    @classmethod
    def _key(cls, value: str, info: ValidationInfo) -> str:
        options = _option_texts(info)
        if options is not None and value not in options:
            raise _not_an_option(value, options)
        return value

    def grade(self, value: object) -> bool:
        return value == self.answer


class MultipleChoice(_ChoiceQuestion):
    type: Literal["multiple"]
    answer: list[str] = Field(min_length=1)

    @field_validator("answer")
    @classmethod
    def _key(cls, value: list[str], info: ValidationInfo) -> list[str]:
        options = _option_texts(info)
        for one in value:
            if options is not None and one not in options:
                raise _not_an_option(one, options)
        if len(set(value)) != len(value):
            raise _fail("an option is named twice")
        return value

    def grade(self, value: object) -> bool:
        return isinstance(value, list) and set(value) == set(self.answer)


class Numeric(_Question):
    type: Literal["numeric"]
    answer: float
    tolerance: float = 0.0

    @field_validator("answer", "tolerance")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise _fail("must be a finite number")
        return value

    @field_validator("tolerance")
    @classmethod
    def _tolerance(cls, value: float) -> float:
        if value < 0:
            raise _fail(f"{value} is below 0")
        return value

    def grade(self, value: object) -> bool:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value) and abs(value - self.answer) <= self.tolerance + 1e-12)


class ShortText(_Question):
    type: Literal["text"]
    answer: list[str] = Field(min_length=1, max_length=50)

    @field_validator("answer", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("answer")
    @classmethod
    def _not_blank(cls, value: list[str]) -> list[str]:
        for text in value:
            if not normalise_text(text):
                raise _fail("an accepted answer is empty")
        return value

    def grade(self, value: object) -> bool:
        return (isinstance(value, str)
                and normalise_text(value) in {normalise_text(a) for a in self.answer})


Question = Annotated[SingleChoice | MultipleChoice | Numeric | ShortText,
                     Field(discriminator="type")]
UNION_TAGS = frozenset({"single", "multiple", "numeric", "text"})


class CheckSet(_Strict, Localized):
    """One lesson's knowledge checks (``checks/<lesson>.yaml``)."""

    LOCALIZED = {"title": "titles"}
    title: Text(200) = "Knowledge check"
    titles: Texts = texts_field()
    pass_mark: float = Field(default=1.0, gt=0, le=1)
    questions: list[Question] = Field(min_length=1, max_length=MAX_QUESTIONS)

    @model_validator(mode="after")
    def _unique_ids(self):
        seen: set[str] = set()
        for question in self.questions:
            if question.id in seen:
                raise _fail(f"question id {question.id!r} is used twice")
            seen.add(question.id)
        return self

    def public(self) -> dict:
        """What a learner may see: titles and questions, never a key."""
        return {"title": self.title, "titles": self.titles, "pass_mark": self.pass_mark,
                "questions": [q.public() for q in self.questions]}

    def check_answers(self, answers: object) -> dict[str, object]:
        """A learner's answers ``{question id: answer}`` checked for shape; raise
        ``ValueError`` naming the field (``answers.<id>: …``). An unanswered question is
        left out (and graded wrong)."""
        if not isinstance(answers, dict):
            raise ValueError("answers: must be an object of question id to answer")
        known = {q.id: q for q in self.questions}
        unknown = sorted((k for k in answers if k not in known), key=str)
        if unknown:
            raise ValueError(f"answers.{unknown[0]}: no such question in this check")
        result: dict[str, object] = {}
        for qid, question in known.items():
            value = answers.get(qid)
            if value is None or value == "" or value == []:
                continue
            where = f"answers.{qid}"
            if isinstance(question, SingleChoice):
                question._known(value, where)
            elif isinstance(question, MultipleChoice):
                if not isinstance(value, list):
                    raise ValueError(f"{where}: must be a list of options")
                for v in value:
                    question._known(v, where)
                value = [o for o in question.options if o in value]
            elif isinstance(question, Numeric):
                if isinstance(value, str):
                    try:
                        value = float(value.strip().replace(",", "."))
                    except ValueError:
                        raise ValueError(f"{where}: must be a number") from None
                if (isinstance(value, bool) or not isinstance(value, (int, float))
                        or not math.isfinite(value)):
                    raise ValueError(f"{where}: must be a number")
            elif not isinstance(value, str) or len(value) > MAX_TEXT_ANSWER:
                raise ValueError(f"{where}: must be text of at most {MAX_TEXT_ANSWER} "
                                 "characters")
            result[qid] = value
        return result

    def grade(self, answers: dict[str, object]) -> dict[str, bool]:
        """``{question id: right or not}`` for answers from :meth:`check_answers`."""
        return {q.id: q.id in answers and q.grade(answers[q.id]) for q in self.questions}

    def passes(self, results: dict[str, bool]) -> bool:
        return sum(results.values()) >= math.ceil(self.pass_mark * len(self.questions) - 1e-9)


def requires_checks(completion) -> bool:
    """Whether a lesson's completion rule (a :class:`~.model.Completion`) needs its checks."""
    return completion.rule == "checks" or bool(getattr(completion, "checks", False))


def read_checks(course_dir: Path, root: Path, course: Course) -> dict[str, CheckSet]:
    """Read ``course_dir/checks/*.yaml`` of ``course``: lesson slug → checks. Raise
    :class:`ContentError` listing every problem (a file for no lesson, a lesson whose
    completion needs checks and has none, anything wrong inside a file)."""
    from .loader import _line_of, _read_yaml, _shown  # the loader imports the models

    folder = course_dir / FOLDER
    problems: list[Problem] = []
    found: dict[str, CheckSet] = {}
    lessons = {lesson.slug for lesson in course.lessons}
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    for path in files:
        if path.name.startswith(".") or path.is_dir():
            continue
        shown = _shown(path, root)
        slug = path.name.removesuffix(".yaml")
        if not path.name.endswith(".yaml") or not re.fullmatch(SLUG, slug):
            problems.append(Problem(shown, 1, "checks", "must be checks/<lesson-slug>.yaml"))
            continue
        if slug not in lessons:
            problems.append(Problem(shown, 1, "checks", f"course {course.slug!r} has no "
                                                        f"lesson {slug!r}"))
            continue
        try:
            found[slug], _, _ = _read_yaml(path, root, CheckSet, "checks")
        except ContentError as exc:
            problems.extend(exc.problems)
    manifest = course_dir / "course.yaml"
    node = None
    for index, lesson in enumerate(course.lessons):
        if requires_checks(lesson.completion) and lesson.slug not in found:
            if node is None:
                node = yaml.compose(manifest.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
            loc = ("lessons", index, "completion")
            if not any(p.file.endswith(f"{FOLDER}/{lesson.slug}.yaml") for p in problems):
                problems.append(Problem(_shown(manifest, root), _line_of(node, loc),
                                        f"lessons.{index}.completion",
                                        f"needs {FOLDER}/{lesson.slug}.yaml, which does not "
                                        "exist"))
    if problems:
        raise ContentError(problems)
    return found
