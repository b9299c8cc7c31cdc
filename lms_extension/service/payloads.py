"""Request bodies of the REST API as pydantic models: unknown fields, wrong types and oversized
values are refused with a message that names the field."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lms_extension.content.model import Slug
from lms_extension.content.wire import MAX_EVENTS_PER_BATCH, EventBatch, EventIn

__all__ = ["MAX_EVENTS_PER_BATCH", "CohortIn", "EventBatch", "EventIn", "ExtensionIn",
           "PayloadError", "SurveyIn", "parse"]


class PayloadError(ValueError):
    """A request body that cannot be accepted; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
