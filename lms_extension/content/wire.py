"""The wire format between a lesson server (the forwarder of learner events) and the LMS service.

Shared by both sides; it imports nothing of the service, the hub or Jupyter Server.

Protocol of ``POST /services/lms/api/events``:

- The request body is an :class:`EventBatch`: ``{"events": [EventIn, ...]}``. The service
  publishes its limits (:class:`ServiceLimits`) in the answer of ``GET api/`` under
  ``"limits"``; a forwarder keeps each body under ``max_body_bytes`` and at most
  ``max_events_per_batch`` events.
- The envelope is judged as a whole. A body that is not JSON, not an object, has no
  ``events`` list (or an empty one, or unknown top-level fields) is answered ``400``; a body over
  ``max_body_bytes`` or with more than ``max_events_per_batch`` events ``413``. Both carry an
  :class:`EnvelopeError` (``message`` names the field, ``field`` is that field, ``limit`` the
  limit that was passed for ``413``). Nothing of such a batch is stored: split it and send again.
- Each event is judged on its own. The answer to an acceptable envelope is ``200`` with a
  :class:`BatchResult`: ``taken`` lists the ids the service now holds (new ones and ones it
  already had: resending is harmless), ``refused`` one :class:`Refusal` per event it did not
  take, with the event's position (``index``), its id when it had a readable one, the field at
  fault (``events.3.lesson``) and the reason.
- ``Refusal.retry`` tells the forwarder what to do with a refused event: ``false`` means the
  event will never be taken (malformed, unknown lesson, bad survey answer, a learner's stored
  events quota): drop it from the queue (the service keeps a record of it for the learner's
  instructors). ``true`` means a temporary refusal (the learner's events-per-minute quota):
  keep the event and send it again after ``BatchResult.retry_after`` seconds (also sent as the
  ``Retry-After`` header).
- Events are idempotent by ``id``: an id the service already holds is counted in
  ``duplicates`` and listed in ``taken``, never stored twice.

Protocol of ``POST /services/lms/api/refusals``: the events a lesson server refused itself (a
malformed event from JupyterLab, one larger than the service's body limit), which never reach
``api/events``, are reported so that the learner's instructors see them beside the service's
own refusals. The body is a :class:`RefusalReports` of the caller's own reports; it is taken
whole (``200``, a :class:`ReportsResult` listing the report ids the service now holds) or not at
all (``400`` naming the field, ``413`` over ``max_body_bytes`` or ``MAX_REPORTS_PER_BATCH``,
with an :class:`EnvelopeError`). Reports are idempotent by ``report_id`` (and by the event's
``id``): sending one again is harmless.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .model import Slug

MAX_EVENTS_PER_BATCH = 500
MAX_REPORTS_PER_BATCH = 100
MAX_REPORT_BODY = 4000  # characters of a refused event's body that a report carries
MAX_ANSWERS_BYTES = 20_000
EVENT_KINDS = ("lesson_opened", "cell_executed", "lesson_completed", "survey_submitted")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventIn(_Strict):
    """A learner event, as the lesson server's forwarder sends it."""

    id: UUID
    kind: Literal["lesson_opened", "cell_executed", "lesson_completed", "survey_submitted"]
    course: Slug
    lesson: Slug
    at: datetime
    notebook: str | None = Field(default=None, max_length=1024)
    cell_id: str | None = Field(default=None, min_length=1, max_length=100)
    ok: bool | None = None
    active_seconds: float = Field(default=0.0, ge=0, le=3600)
    answers: dict | None = None

    @model_validator(mode="after")
    def _fields_of_kind(self):
        if self.at.tzinfo is None:
            raise ValueError("at: must carry a time zone (e.g. 2026-11-23T10:00:00Z)")
        if self.kind == "cell_executed" and (self.cell_id is None or self.ok is None):
            missing = "cell_id" if self.cell_id is None else "ok"
            raise ValueError(f"{missing}: cell_executed events need cell_id and ok")
        if self.kind == "survey_submitted" and self.answers is None:
            raise ValueError("answers: survey_submitted events need answers")
        if self.answers is not None and len(json.dumps(self.answers)) > MAX_ANSWERS_BYTES:
            raise ValueError(f"answers: larger than {MAX_ANSWERS_BYTES} bytes")
        return self

    @property
    def at_utc(self) -> datetime:
        return self.at.astimezone(UTC)


class EventBatch(_Strict):
    """The body of ``POST api/events``, every event well-formed."""

    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)


class BatchEnvelope(_Strict):
    """The body of ``POST api/events`` as the service first reads it: the events are judged
    one by one afterwards (:func:`read_events`)."""

    events: list[Any] = Field(min_length=1)


class Refusal(_Strict):
    """An event of a batch that the service did not take."""

    index: int = Field(ge=0, description="position of the event in the batch")
    id: str | None = Field(default=None, description="the event's id, when it had one")
    field: str = Field(description="the field at fault, e.g. events.3.lesson")
    reason: str
    retry: bool = Field(default=False, description="true: a temporary refusal (send it again "
                        "after retry_after seconds); false: never send this event again")


class BatchResult(_Strict):
    """The answer (HTTP 200) to ``POST api/events``."""

    accepted: int = Field(ge=0, description="events newly stored")
    duplicates: int = Field(ge=0, description="events the service already held (or repeated "
                            "within the batch)")
    taken: list[str] = Field(default_factory=list,
                             description="ids of the batch's events the service now holds")
    refused: list[Refusal] = Field(default_factory=list)
    retry_after: float | None = Field(default=None, description="seconds to wait before "
                                      "sending the refusals with retry=true again")


class EnvelopeError(_Strict):
    """The answer (HTTP 400 or 413) to a batch refused as a whole."""

    status: int
    message: str = Field(description="'<field>: <what is wrong>'")
    field: str = Field(description="the field at fault: body, events, ...")
    limit: int | None = Field(default=None, description="for 413: the limit that was passed")


class ServiceLimits(_Strict):
    """What the service takes; published under ``limits`` in the answer of ``GET api/``."""

    max_body_bytes: int
    max_events_per_batch: int
    events_per_minute: int = Field(description="events one learner may send per minute "
                                   "(0: no limit); more are refused with retry=true")
    max_stored_events: int = Field(description="events stored per learner (0: no limit); more "
                                   "are refused with retry=false")


class RefusalReport(_Strict):
    """An event that a lesson server refused itself and never sent to ``api/events``."""

    report_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$",
                           description="the report's own id, unique for the learner (the "
                           "event's id when it had one): sending it again is harmless")
    id: UUID | None = Field(default=None, description="the event's id, when it had one")
    course: Slug | None = Field(default=None, description="the event's course, when it named "
                                "a well-formed one")
    lesson: Slug | None = Field(default=None, description="the event's lesson, when it named "
                                "a well-formed one")
    field: str = Field(min_length=1, max_length=200, description="the field at fault, e.g. "
                       "events.3.notebook")
    reason: str = Field(min_length=1, max_length=1000)
    at: datetime = Field(description="when the lesson server refused it (a time in the future "
                         "is taken as the time of the report)")
    body: str = Field(default="", max_length=MAX_REPORT_BODY + 1, description="the event as "
                      f"sent, cut to {MAX_REPORT_BODY} characters and an ellipsis")

    @model_validator(mode="after")
    def _aware(self):
        if self.at.tzinfo is None:
            raise ValueError("at: must carry a time zone (e.g. 2026-11-23T10:00:00Z)")
        return self


class RefusalReports(_Strict):
    """The body of ``POST api/refusals``: the caller's own reports."""

    refusals: list[RefusalReport] = Field(min_length=1, max_length=MAX_REPORTS_PER_BATCH)


class ReportsResult(_Strict):
    """The answer (HTTP 200) to ``POST api/refusals``."""

    stored: int = Field(ge=0, description="reports newly stored")
    duplicates: int = Field(ge=0, description="reports the service already held")
    taken: list[str] = Field(default_factory=list, description="report ids the service now "
                             "holds: the lesson server marks them reported")


_FIELD_IN_MESSAGE = re.compile(r"^([a-z_]+): (.*)$", re.S)


def refusal_from(index: int, raw: Any, exc: ValidationError) -> Refusal:
    """A :class:`Refusal` for the event at ``index`` that failed validation with ``exc``."""
    err = exc.errors()[0]
    field = ".".join(["events", str(index), *(str(p) for p in err["loc"])])
    reason = err["msg"].removeprefix("Value error, ")
    match = _FIELD_IN_MESSAGE.match(reason) if not err["loc"] else None
    if match:
        field, reason = f"{field}.{match.group(1)}", match.group(2)
    more = len(exc.errors()) - 1
    if more:
        reason += f" (and {more} more)"
    return Refusal(index=index, id=event_id(raw), field=field, reason=reason)


def event_id(raw: Any) -> str | None:
    """The id of a raw event, if it has a well-formed one."""
    value = raw.get("id") if isinstance(raw, dict) else None
    try:
        return str(UUID(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def read_events(raw_events: list) -> tuple[list[tuple[int, EventIn]], list[Refusal]]:
    """Judge each raw event on its own: ``([(index, event), ...], [refusal, ...])``."""
    good: list[tuple[int, EventIn]] = []
    refused: list[Refusal] = []
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            refused.append(Refusal(index=index, field=f"events.{index}",
                                   reason="must be a JSON object"))
            continue
        try:
            good.append((index, EventIn.model_validate(raw)))
        except ValidationError as exc:
            refused.append(refusal_from(index, raw, exc))
    return good, refused
