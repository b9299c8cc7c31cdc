"""``POST api/events``: the envelope judged as a whole, each event on its own (the protocol is
described in :mod:`lms_extension.content.wire`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from tornado import web

from lms_extension.content.wire import (
    BatchEnvelope,
    BatchResult,
    EventIn,
    Refusal,
    ServiceLimits,
    event_id,
    read_events,
)

from .content import CatalogIndex
from .db import Refusal as RefusalRow
from .recording import Batch, Recorded, record_batches
from .quotas import RateLimiter, StoredEvents

BODY_KEPT = 4000  # characters of a refused event's body that are kept for instructors
ALL_EVENTS = TypeAdapter(list[EventIn])


class EnvelopeError(web.HTTPError):
    """A batch refused as a whole: 400, or 413 over a limit; the answer names the field."""

    def __init__(self, status: int, field: str, message: str, limit: int | None = None):
        super().__init__(status, "%s", f"{field}: {message}")
        self.field = field
        self.limit = limit


def read_json_object(body: bytes, max_body_bytes: int) -> dict:
    """A request body that must be a JSON object of at most ``max_body_bytes``, or
    :class:`EnvelopeError` (413 with the limit, 400 naming ``body``)."""
    if len(body) > max_body_bytes:
        raise EnvelopeError(413, "body", f"{len(body)} bytes is more than the limit of "
                            f"{max_body_bytes}", max_body_bytes)
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise EnvelopeError(400, "body", f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise EnvelopeError(400, "body", "must be a JSON object")
    return data


def read_envelope(body: bytes, limits: ServiceLimits) -> list[Any]:
    """The raw events of a request body, or :class:`EnvelopeError`."""
    data = read_json_object(body, limits.max_body_bytes)
    try:
        envelope = BatchEnvelope.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"][:1]) or "body"
        raise EnvelopeError(400, field, err["msg"]) from None
    if len(envelope.events) > limits.max_events_per_batch:
        raise EnvelopeError(413, "events", f"{len(envelope.events)} events are more than the "
                            f"limit of {limits.max_events_per_batch}",
                            limits.max_events_per_batch)
    return envelope.events


def judge_events(raw_events: list[Any]) -> tuple[list[tuple[int, EventIn]], list[Refusal]]:
    """:func:`~lms_extension.content.wire.read_events`, faster for the usual batch in which
    every event is valid: all of them validated in one call, one by one only when one fails."""
    try:
        events = ALL_EVENTS.validate_python(raw_events)
    except ValidationError:
        return read_events(raw_events)
    return list(enumerate(events)), []


class EventIntake:
    """Takes the event batches of learners: quotas, per-event checks, the single writer."""

    def __init__(self, service):
        self.service = service
        self.rate = RateLimiter(service.events_per_minute)
        self.stored = StoredEvents(service.max_stored_events)
        # the published limits: the service's settings, fixed once it runs
        self.limits = ServiceLimits(max_body_bytes=service.max_body_bytes,
                                    max_events_per_batch=service.max_events_per_batch,
                                    events_per_minute=service.events_per_minute,
                                    max_stored_events=service.max_stored_events)

    async def take(self, user: str, raw_events: list[Any]) -> BatchResult:
        granted, retry_after = self.rate.take(user, len(raw_events))
        judged, refused = judge_events(raw_events[:granted])
        # a lesson the live version lacks: sync once before refusing (one content authority)
        await self.service.know_lessons({(e.course, e.lesson) for _, e in judged})
        good: list[tuple[int, EventIn]] = []
        for index, event in judged:
            problem = self._check_against_catalog(index, event)
            if problem is None:
                good.append((index, event))
            else:
                refused.append(problem)
        final = sorted(refused, key=lambda r: r.index)
        later = [Refusal(index=i, id=event_id(raw), field=f"events.{i}", retry=True,
                         reason=f"quota: more than {self.rate.per_minute} events per minute "
                                f"(LmsService.events_per_minute); send it again in "
                                f"{retry_after:.0f} s")
                 for i, raw in enumerate(raw_events[granted:], start=granted)]
        return await self.service.write(EventsJob(
            self, user, good, final, later, raw_events, retry_after,
            self.service.content.index, self.service.utcnow()))

    def _check_against_catalog(self, number: int, event: EventIn) -> Refusal | None:
        index = self.service.content.index
        if index.lesson(event.course, event.lesson) is None:
            return Refusal(index=number, id=str(event.id), field=f"events.{number}.lesson",
                           reason=f"unknown lesson {event.course}/{event.lesson}")
        if event.kind == "survey_submitted":
            survey = index.survey(event.course, event.lesson)
            if survey is None:
                return Refusal(index=number, id=str(event.id), field=f"events.{number}.lesson",
                               reason=f"lesson {event.lesson} has no survey")
            try:
                survey.check_answers(event.answers)
            except ValueError as exc:
                field, _, reason = str(exc).partition(": ")
                return Refusal(index=number, id=str(event.id),
                               field=f"events.{number}.{field}", reason=reason or str(exc))
        return None

    def _keep(self, session: Session, user: str, refusals: list[Refusal], raw_events: list,
              now: datetime) -> None:
        """Store the refusals for good, for the learner's instructors; keep at most
        ``max_stored_refusals`` per learner (the newest)."""
        if not refusals:
            return
        for refusal in refusals:
            raw = raw_events[refusal.index]
            course, lesson = _slug(raw, "course"), _slug(raw, "lesson")
            session.add(RefusalRow(user=user, event_id=refusal.id, course=course, lesson=lesson,
                                   field=refusal.field[:200], reason=refusal.reason[:1000],
                                   at=now, body=_cut(raw)))
        session.flush()
        keep = self.service.max_stored_refusals
        count = session.scalar(select(func.count()).select_from(RefusalRow)
                               .where(RefusalRow.user == user))
        if keep > 0 and count > keep:
            oldest = select(RefusalRow.id).where(RefusalRow.user == user).order_by(
                RefusalRow.at, RefusalRow.id).limit(count - keep)
            session.execute(delete(RefusalRow).where(RefusalRow.id.in_(
                list(session.scalars(oldest)))))


class EventsJob:
    """One learner's batch on the single writer. The batches waiting there are recorded
    together (:meth:`run_together`, :func:`.recording.record_batches`), in a few statements."""

    on_loop = True  # small and bounded (max_events_per_batch): may run on the event loop

    def __init__(self, intake: EventIntake, user: str, good: list[tuple[int, EventIn]],
                 refused: list[Refusal], later: list[Refusal], raw_events: list,
                 retry_after: float, index: CatalogIndex, now: datetime):
        self.intake, self.user, self.good, self.refused = intake, user, good, refused
        self.later, self.raw_events, self.retry_after = later, raw_events, retry_after
        self.index, self.now = index, now

    def __call__(self, session: Session) -> BatchResult:
        return self.run_together(session, [self])[0]

    @classmethod
    def run_together(cls, session: Session, jobs: list[EventsJob]) -> list[BatchResult]:
        batches = [Batch(job.user, [e for _, e in job.good], job.index, job.now)
                   for job in jobs]
        record_batches(session, batches, jobs[0].intake.stored)
        return [job._result(session, batch.done) for job, batch in zip(jobs, batches,
                                                                         strict=True)]

    def _result(self, session: Session, done: Recorded) -> BatchResult:
        intake, user = self.intake, self.user
        position = {id(e): i for i, e in self.good}
        over = [Refusal(index=position[id(e)], id=str(e.id), field=f"events.{position[id(e)]}",
                        reason=f"quota: {user} has {intake.stored.limit} stored events, the "
                               "most the service keeps for one learner "
                               "(LmsService.max_stored_events)")
                for e in done.over_quota]
        intake._keep(session, user, sorted(self.refused + over, key=lambda r: r.index),
                     self.raw_events, self.now)
        return BatchResult(accepted=len(done.accepted), duplicates=len(done.duplicates),
                           taken=done.taken,
                           refused=sorted(self.refused + over + self.later,
                                          key=lambda r: r.index),
                           retry_after=self.retry_after if self.later else None)


def _slug(raw: Any, key: str) -> str | None:
    value = raw.get(key) if isinstance(raw, dict) else None
    return value[:64] if isinstance(value, str) and value else None


def _cut(raw: Any) -> str:
    text = json.dumps(raw, default=str, ensure_ascii=False)
    return text if len(text) <= BODY_KEPT else text[:BODY_KEPT] + "…"
