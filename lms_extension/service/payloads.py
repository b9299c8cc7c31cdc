"""Request bodies of the REST API as pydantic models: unknown fields, wrong types and oversized
values are refused with a message that names the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lms_extension.content.model import Slug

MAX_EVENTS_PER_BATCH = 500


class PayloadError(ValueError):
    """A request body that cannot be accepted; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventIn(_Strict):
    """A learner event, as the labextension's server extension forwards it."""

    id: UUID
    kind: Literal["lesson_opened", "cell_executed", "lesson_completed", "survey_submitted"]
    course: Slug
    lesson: Slug
    at: datetime
    notebook: str | None = Field(default=None, max_length=300)
    cell_id: str | None = Field(default=None, min_length=1, max_length=100)
    ok: bool | None = None
    active_seconds: float = Field(default=0.0, ge=0, le=3600)
    answers: dict | None = None

    @model_validator(mode="after")
    def _fields_of_kind(self):
        if self.at.tzinfo is None:
            raise ValueError("at: must carry a time zone (e.g. 2026-11-23T10:00:00Z)")
        if self.kind == "cell_executed" and (self.cell_id is None or self.ok is None):
            raise ValueError("cell_executed events need cell_id and ok")
        if self.kind == "survey_submitted" and self.answers is None:
            raise ValueError("survey_submitted events need answers")
        if self.answers is not None and len(json.dumps(self.answers)) > 20_000:
            raise ValueError("answers: larger than 20000 bytes")
        return self

    @property
    def at_utc(self) -> datetime:
        return self.at.astimezone(UTC)


class EventBatch(_Strict):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)


class CohortIn(_Strict):
    course: Slug
    start: datetime

    @model_validator(mode="after")
    def _aware(self):
        if self.start.tzinfo is None:
            raise ValueError("start: must carry a time zone (e.g. 2026-11-23T00:00:00Z)")
        return self


class ExtensionIn(_Strict):
    days: float = Field(ge=0, le=365)
    lesson: Slug | Literal[""] = ""


class SurveyIn(_Strict):
    answers: dict


def parse(model: type[BaseModel], body: bytes, limit: int) -> BaseModel:
    """Parse a JSON request body into ``model``; raise PayloadError naming the field."""
    if len(body) > limit:
        raise PayloadError(f"body: {len(body)} bytes is more than the limit of {limit}")
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"body: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise PayloadError("body: must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "body"
        message = err["msg"].removeprefix("Value error, ")
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise PayloadError(f"{field}: {message}{more}") from None
