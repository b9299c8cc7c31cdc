"""The survey format (``surveys/<name>.yaml`` in a course folder) as pydantic models.

A survey is a short list of questions asked when a learner completes a lesson. The LMS service
stores answers against these definitions and the labextension renders them, so both read
surveys through :class:`Survey` and check answers with :meth:`Survey.check_answers`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .model import Slug
from .text import Localized, Text, Texts, default_text, texts_field

MAX_TEXT_ANSWER = 4000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Question(_Strict, Localized):
    LOCALIZED = {"text": "texts"}
    id: Slug
    text: Text(500)
    texts: Texts = texts_field()
    required: bool = False


class RatingQuestion(_Question):
    """A rating from 1 to ``scale`` (with optional words for both ends)."""

    LOCALIZED = {"text": "texts", "low_label": "low_labels", "high_label": "high_labels"}
    type: Literal["rating"]
    scale: int = Field(default=5, ge=2, le=10)
    low_label: Text(80) | None = None
    low_labels: Texts = texts_field()
    high_label: Text(80) | None = None
    high_labels: Texts = texts_field()


class _ChoiceQuestion(_Question):
    # an option is stored as its text in the default language; ``labels`` holds its texts
    # per language (a ``{}`` for an option given as a plain string)
    LOCALIZED = {"text": "texts", "options": "labels"}
    options: list[Text(200)] = Field(min_length=2, max_length=20)
    labels: list[Texts] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct(self):
        shown = [default_text(o) if isinstance(o, dict) else o for o in self.options]
        if len(set(shown)) != len(shown):
            raise ValueError("options must be distinct")
        return self


class SingleChoiceQuestion(_ChoiceQuestion):
    """Exactly one of ``options``."""

    type: Literal["single"]


class MultipleChoiceQuestion(_ChoiceQuestion):
    """Any number of ``options`` (at least one when required)."""

    type: Literal["multiple"]


class TextQuestion(_Question):
    """Free text, at most ``max_length`` characters."""

    type: Literal["text"]
    max_length: int = Field(default=1000, ge=1, le=MAX_TEXT_ANSWER)


Question = Annotated[
    RatingQuestion | SingleChoiceQuestion | MultipleChoiceQuestion | TextQuestion,
    Field(discriminator="type"),
]


class Survey(_Strict, Localized):
    """A survey file: a title and its ordered questions."""

    LOCALIZED = {"title": "titles", "description": "descriptions"}
    title: Text(200)
    titles: Texts = texts_field()
    description: Text(2000, empty=True) = ""
    descriptions: Texts = texts_field()
    questions: list[Question] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _unique_ids(self):
        seen: set[str] = set()
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"question id {question.id!r} is used twice")
            seen.add(question.id)
        return self

    def check_answers(self, answers: object) -> dict[str, object]:
        """Validate a learner's answers ``{question id: answer}``; return them normalised.

        Raises ``ValueError`` whose message names the question at fault. Unanswered optional
        questions are left out of the result.
        """
        if not isinstance(answers, dict):
            raise ValueError("answers must be an object of question id to answer")
        known = {q.id: q for q in self.questions}
        unknown = sorted(set(answers) - set(known), key=str)
        if unknown:
            raise ValueError(f"answers.{unknown[0]}: no such question in this survey")
        result: dict[str, object] = {}
        for qid, question in known.items():
            value = answers.get(qid)
            if value is None or value == "" or value == []:
                if question.required:
                    raise ValueError(f"answers.{qid}: an answer is required")
                continue
            result[qid] = _check_one(question, value, f"answers.{qid}")
        return result


def _check_one(question, value: object, where: str) -> object:
    if isinstance(question, RatingQuestion):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: must be a whole number from 1 to {question.scale}")
        if not 1 <= value <= question.scale:
            raise ValueError(f"{where}: must be from 1 to {question.scale}")
        return value
    if isinstance(question, SingleChoiceQuestion):
        if value not in question.options:
            raise ValueError(f"{where}: must be one of the options")
        return value
    if isinstance(question, MultipleChoiceQuestion):
        if not isinstance(value, list) or not all(v in question.options for v in value):
            raise ValueError(f"{where}: must be a list of the options")
        if len(set(value)) != len(value):
            raise ValueError(f"{where}: an option is chosen twice")
        return [o for o in question.options if o in value]
    if not isinstance(value, str):
        raise ValueError(f"{where}: must be text")
    if len(value) > question.max_length:
        raise ValueError(f"{where}: longer than {question.max_length} characters")
    return value
