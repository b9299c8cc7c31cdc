"""Course texts in one or more languages.

A text a person reads in a course (a course or lesson ``title``, a survey's title, questions and
choice labels) is a plain string or one string per language::

    title: NumPy basics
    title: {en: NumPy basics, ko: NumPy 기초}

The models keep the field itself a plain string, the text in the default language (English, else
the first given), so everything that reads ``title`` today goes on working; the per-language
texts are next to it in a sibling field (``titles``, ``texts``, ``labels``…), empty for a plain
string. Pages pick one with :func:`lms_extension.i18n.localized`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, Field, model_validator
from pydantic.functional_validators import PlainValidator
from pydantic_core import PydanticCustomError

from lms_extension.i18n import DEFAULT_LANGUAGE, LANGUAGES

Texts = dict[str, str]


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("course_text", message)


def check_text(value: object, max_length: int, empty: bool = False) -> str | Texts:
    """``value`` as a non-empty string (or ``""`` with ``empty``) or a ``{language: non-empty
    string}`` mapping."""
    if isinstance(value, str):
        if not value.strip() and not (empty and value == ""):
            raise _fail("the text is empty")
        if len(value) > max_length:
            raise _fail(f"the text is {len(value)} characters long; the limit is {max_length}")
        return value
    if isinstance(value, dict):
        if not value:
            raise _fail(f"give the text in at least one language ({', '.join(LANGUAGES)})")
        texts: Texts = {}
        for lang, text in value.items():
            if lang not in LANGUAGES:
                raise _fail(f"{lang!r} is not a language of the platform "
                            f"(use {', '.join(LANGUAGES)})")
            if not isinstance(text, str):
                raise _fail(f"the {lang} text must be a string")
            if not text.strip():
                raise _fail(f"the {lang} text is empty")
            if len(text) > max_length:
                raise _fail(f"the {lang} text is {len(text)} characters long; the limit is "
                            f"{max_length}")
            texts[lang] = text
        return texts
    raise _fail(f"must be a string or a mapping of language ({', '.join(LANGUAGES)}) to text")


def Text(max_length: int, empty: bool = False):  # noqa: N802 - used as a type
    """A course text field: a string, or a ``{language: text}`` mapping that the model turns
    into the default language's string plus the mapping in the sibling field."""
    return Annotated[str, PlainValidator(lambda v: check_text(v, max_length, empty),
                                         json_schema_input_type=str | dict[str, str])]


def default_text(texts: Texts) -> str:
    return texts.get(DEFAULT_LANGUAGE) or next(iter(texts.values()))


def translations(value: object) -> Texts:
    """The per-language texts of a course text (``{}`` for a plain string)."""
    return dict(value) if isinstance(value, dict) else {}


class Localized(BaseModel):
    """A model with course texts: ``LOCALIZED`` names each text field and its sibling field of
    per-language texts (a field of a list of texts gets a list of mappings)."""

    LOCALIZED: ClassVar[dict[str, str]] = {}

    @model_validator(mode="after")
    def _split_languages(self):
        for name, sibling in self.LOCALIZED.items():
            value = getattr(self, name)
            if isinstance(value, list):
                if any(isinstance(v, dict) for v in value):
                    object.__setattr__(self, sibling, [translations(v) for v in value])
                    object.__setattr__(self, name, [default_text(v) if isinstance(v, dict)
                                                    else v for v in value])
            elif isinstance(value, dict):
                object.__setattr__(self, sibling, dict(value))
                object.__setattr__(self, name, default_text(value))
            else:  # read again from the model's own JSON: the texts must be texts too
                given = getattr(self, sibling)
                for texts in given if isinstance(given, list) else [given]:
                    if texts:
                        check_text(texts, 10_000)
        return self


def texts_field():
    """The sibling field of per-language texts (filled from the text field; given back as is
    when a model is read again from its own JSON)."""
    return Field(default_factory=dict)
