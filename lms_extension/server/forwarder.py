"""Forwarding the home's event queue to the LMS service, on the protocol of
:mod:`lms_extension.content.wire`.

- Batches are cut by size: each body stays under the service's published ``max_body_bytes`` and
  ``max_events_per_batch`` (``GET api/``) and this server's own caps; an event that alone is
  larger than the limit is set aside.
- The answer is read event by event (:class:`~lms_extension.content.wire.BatchResult`): the
  ``taken`` ids leave the queue; a refusal with ``retry`` false sets its event aside with the
  field and the reason (it is never sent again); one with ``retry`` true stays, and the next try
  waits ``retry_after``. A ``429`` waits its ``Retry-After``.
- A batch refused as a whole (``413``, or ``400``) is split in halves until the event at fault
  stands alone, and that one is set aside: one bad event never holds up the rest.
- Only the server holding the home's :class:`~.lease.HomeLease` sends, one batch at a time, so
  no event is ever in two requests at once. Network failures and server errors keep everything
  and back off (2, 4, ... seconds up to ``max_pause``).
- Events this server refused itself (malformed ones from JupyterLab, one larger than the
  service's body limit, one the service refused as a whole batch alone) never reach the
  service's store: once the queue is drained, they are reported to ``api/refusals`` in small
  batches, for the learner's instructors, and marked reported once the service holds them. A
  report the service has not confirmed is sent again with its own backoff (the service takes
  each report id once), so events keep flowing while reports wait.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError
from tornado.httpclient import HTTPClientError, HTTPResponse

from ..content.wire import MAX_REPORTS_PER_BATCH, BatchResult, ReportsResult
from .http import TokenClient, message_of
from .lease import HomeLease
from .queue import EventQueue, encode

log = logging.getLogger(__name__)
ENVELOPE = len(b'{"events":[]}')
REPORTS_ENVELOPE = len(b'{"refusals":[]}')
REPORTS_PER_BATCH = min(20, MAX_REPORTS_PER_BATCH)
LIMITS_MAX_AGE = 600.0


@dataclass
class Limits:
    max_body_bytes: int
    max_events_per_batch: int


def cut_batch(events: list[dict], limits: Limits) -> tuple[list[dict], bytes]:
    """The longest head of ``events`` whose body fits ``limits``, and that body. Empty when
    the first event alone does not fit."""
    parts: list[bytes] = []
    size = ENVELOPE
    for event in events[:limits.max_events_per_batch]:
        part = encode(event).encode()
        if size + len(part) + (1 if parts else 0) > limits.max_body_bytes:
            break
        size += len(part) + (1 if parts else 0)
        parts.append(part)
    return events[:len(parts)], b'{"events":[' + b",".join(parts) + b"]}"


class EventForwarder:
    """Sends ``queue`` to ``{service}/api/events`` while this server holds ``lease``."""

    def __init__(self, queue: EventQueue, service: TokenClient, lease: HomeLease | None = None,
                 max_batch_bytes: int = 65_536, max_batch_events: int = 200,
                 max_pause: float = 60.0, retry_pause: float = 5.0,
                 on_taken: Callable[[], None] | None = None, clock=time.monotonic,
                 logger: logging.Logger = log):
        self.queue = queue
        self.service = service
        self.lease = lease or HomeLease(queue.path.parent / "events.lock")
        self.own = Limits(max_batch_bytes, max_batch_events)
        self.max_pause = max_pause
        self.retry_pause = retry_pause
        self.on_taken = on_taken
        self.clock = clock
        self.log = logger
        self.failures = 0
        self.last_error = ""
        self.last_sent = 0.0
        self.next_try = 0.0
        self.published: Limits | None = None
        self.report_failures = 0
        self.report_error = ""
        self.next_report = 0.0
        self._limits_at: float | None = None
        self._split: int | None = None  # a batch was refused as a whole: send fewer at once
        self._running = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()

    # -- what the learner and the tests see ---------------------------------------------------

    def status(self) -> dict:
        forwarding = self.lease.held
        return {**self.queue.counts(), "last_error": self.last_error,
                "last_sent": self.last_sent or None, "service": self.service.base_url,
                "forwarding": forwarding,
                "forwarded_by": self.lease.holder if forwarding else self.lease.holder_now(),
                "report_error": self.report_error, "refusals": self.queue.refusals()}

    def limits(self) -> Limits:
        """What one batch may hold: the smaller of this server's caps and the service's."""
        pub = self.published or self.own
        limit = Limits(min(self.own.max_body_bytes, pub.max_body_bytes),
                       min(self.own.max_events_per_batch, pub.max_events_per_batch))
        if self._split is not None:
            limit.max_events_per_batch = min(limit.max_events_per_batch, self._split)
        return limit

    # -- sending -------------------------------------------------------------------------------

    def kick(self) -> None:
        """Forward soon, without waiting for it (new events were queued)."""
        task = asyncio.ensure_future(self.flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self, force: bool = False) -> int:
        """Send what is queued until it is empty or the service asks to wait; return how many
        events the service newly stored. Nothing happens in a server that does not hold the
        home's lease, nor (unless ``force``) while backing off."""
        if not self.service or not self.lease.try_acquire():
            return 0
        if not force and self.clock() < self.next_try:
            return 0
        async with self._running:
            try:
                stored = await self._drain()
            finally:
                self._split = None
            if self.clock() >= self.next_try:  # the service answered and asks for no wait
                await self._report()
            return stored

    async def _drain(self) -> int:
        await self._refresh_limits()
        stored = 0
        while True:
            limits = self.limits()
            rows = await asyncio.to_thread(self.queue.peek, limits.max_events_per_batch)
            if not rows:
                return stored
            events = [json.loads(row) for row in rows]
            batch, body = cut_batch(events, limits)
            if not batch:
                reason = (f"the event alone is larger than the limit of "
                          f"{limits.max_body_bytes} bytes")
                await self._set_aside([(events[0], "body", reason)], report=True)
                continue
            try:
                response = await self.service.fetch("api/events", "POST", body, timeout=30,
                                                    raise_error=False)
            except (HTTPClientError, OSError) as exc:  # unreachable, or no answer in time
                self._failed(f"{type(exc).__name__}: {exc}")
                return stored
            taken, go_on = await self._answered(batch, response)
            stored += taken
            if not go_on:
                return stored

    async def _answered(self, batch: list[dict], response: HTTPResponse) -> tuple[int, bool]:
        """Act on one answer: how many events were newly stored, and whether to go on."""
        code = response.code
        if code == 200:
            return await self._result(batch, response)
        if code in (400, 413):
            await self._whole_batch_refused(batch, response)
            return 0, True
        if code == 429:
            self._wait(_retry_after(response) or self.retry_pause,
                       f"HTTP 429: {message_of(response)}")
        else:
            self._failed(f"HTTP {code}: {message_of(response)}")
        return 0, False

    async def _result(self, batch: list[dict], response: HTTPResponse) -> tuple[int, bool]:
        try:
            result = BatchResult.model_validate_json(response.body)
        except ValidationError:
            self._failed("the LMS service's answer is not a batch result")
            return 0, False
        by_id = {str(e["id"]): e for e in batch}
        taken = [i for i in result.taken if i in by_id]
        await asyncio.to_thread(self.queue.remove, taken)
        answered = set(taken)
        set_aside, retry = [], []
        for refusal in result.refused:
            event = by_id.get(refusal.id or "") or (
                batch[refusal.index] if refusal.index < len(batch) else None)
            if event is None:
                continue
            answered.add(str(event["id"]))
            if refusal.retry:
                retry.append(refusal)
            else:
                set_aside.append((event, refusal.field, refusal.reason))
        await self._set_aside(set_aside)
        self.failures, self.last_error, self.last_sent = 0, "", time.time()
        if taken and self.on_taken:
            self.on_taken()
        if retry:
            self._wait(result.retry_after or _retry_after(response) or self.retry_pause,
                       f"{retry[0].field}: {retry[0].reason}")
            return result.accepted, False
        if len(answered) < len(by_id):
            self._failed(f"the LMS service answered for {len(answered)} of {len(by_id)} events")
            return result.accepted, False
        return result.accepted, True

    async def _whole_batch_refused(self, batch: list[dict], response: HTTPResponse) -> None:
        message = message_of(response)
        if len(batch) == 1:  # nothing of it was stored: the service is to be told
            await self._set_aside([(batch[0], _field_of(response), message)], report=True)
            return
        if response.code == 413:
            await self._refresh_limits(force=True)
            self._learn_limit(_field_of(response), _json(response).get("limit"))
        self._split = max(1, len(batch) // 2)
        self.log.info("lms_extension: the LMS service refused a batch of %d events as a whole "
                      "(%s); sending %d at a time", len(batch), message, self._split)

    def _learn_limit(self, field: str, limit) -> None:
        """A 413 names the limit that was passed: the body's size or the number of events."""
        if not isinstance(limit, int) or limit < 1:
            return
        known = self.published or Limits(**vars(self.own))
        if field == "body" and limit > ENVELOPE:
            known.max_body_bytes = min(known.max_body_bytes, limit)
        elif field == "events":
            known.max_events_per_batch = min(known.max_events_per_batch, limit)
        self.published = known

    async def _set_aside(self, refusals: list[tuple[dict, str, str]],
                         report: bool = False) -> None:
        """Take events out of the queue for good; ``report``: refused here, not by the
        service, which is to be told (:meth:`_report`)."""
        if not refusals:
            return
        await asyncio.to_thread(self.queue.refuse, refusals, True, report)
        for event, field, reason in refusals:
            self.log.warning("lms_extension: event %s set aside, never to be sent again: "
                             "%s: %s", event.get("id"), field, reason)

    # -- reporting this server's own refusals -------------------------------------------------

    async def _report(self) -> None:
        """Tell the service of the events this server refused itself, oldest first, until
        none is left or the service cannot take them now."""
        if self.clock() < self.next_report:
            return
        size = REPORTS_PER_BATCH
        while rows := await asyncio.to_thread(self.queue.unreported, size):
            rows, body = _cut_reports(rows, self.limits().max_body_bytes)
            keys = {json.loads(report)["report_id"]: key for key, report in rows}
            try:
                response = await self.service.fetch("api/refusals", "POST", body, timeout=30,
                                                    raise_error=False)
            except (HTTPClientError, OSError) as exc:
                return self._report_failed(f"{type(exc).__name__}: {exc}")
            if response.code == 200:
                try:
                    taken = ReportsResult.model_validate_json(response.body).taken
                except ValidationError:
                    return self._report_failed("the LMS service's answer is not a reports "
                                               "result")
                done = [keys[i] for i in dict.fromkeys(taken) if i in keys]
                await asyncio.to_thread(self.queue.mark_reported, done)
                self.report_failures, self.report_error = 0, ""
                if len(done) < len(rows):
                    return self._report_failed(f"the LMS service answered for {len(done)} of "
                                               f"{len(rows)} reports")
            elif response.code in (400, 413) and len(rows) > 1:
                size = max(1, len(rows) // 2)  # until the report at fault stands alone
            elif response.code in (400, 413):
                self.log.warning("lms_extension: the LMS service will not take the report of "
                                 "refused event %s (%s); dropping the report", rows[0][0],
                                 message_of(response))
                await asyncio.to_thread(self.queue.mark_reported, [rows[0][0]])
                size = REPORTS_PER_BATCH
            elif response.code == 429:
                self.next_report = self.clock() + (_retry_after(response) or self.retry_pause)
                self.report_error = f"HTTP 429: {message_of(response)}"
                return
            else:
                return self._report_failed(f"HTTP {response.code}: {message_of(response)}")

    def _report_failed(self, reason: str) -> None:
        self.report_failures += 1
        pause = _pause(self.report_failures, self.max_pause)
        self.report_error = reason
        self.next_report = self.clock() + pause
        self.log.info("lms_extension: refused events wait to be reported (%s); next try in "
                      "%.0f s", reason, pause)

    async def _refresh_limits(self, force: bool = False) -> None:
        now = self.clock()
        if not force and self._limits_at is not None and now - self._limits_at < LIMITS_MAX_AGE:
            return
        try:
            published = (await self.service.get_json("api/", timeout=10)).get("limits") or {}
            self.published = Limits(int(published["max_body_bytes"]),
                                    int(published["max_events_per_batch"]))
        except (HTTPClientError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.log.info("lms_extension: the LMS service's limits are unknown (%s); "
                          "using %s", exc, self.own)
            return
        self._limits_at = now

    # -- waiting -------------------------------------------------------------------------------

    def _wait(self, seconds: float, reason: str) -> None:
        self.last_error = reason
        self.next_try = self.clock() + max(0.0, seconds)
        self.log.info("lms_extension: the LMS service asks to wait %.0f s (%s)", seconds, reason)

    def _failed(self, reason: str) -> None:
        self.failures += 1
        pause = _pause(self.failures, self.max_pause)
        self.last_error = reason
        self.next_try = self.clock() + pause
        self.log.info("lms_extension: events stay queued (%s); next try in %.0f s", reason, pause)


def _pause(failures: int, max_pause: float) -> float:
    """Seconds to wait after ``failures`` failures in a row: 2, 4, ... up to ``max_pause``."""
    return min(max_pause, 2 ** min(failures, 10))


def _cut_reports(rows: list[tuple[str, str]], max_bytes: int) -> tuple[list, bytes]:
    """The longest head of ``rows`` (at least one) whose reports fit in ``max_bytes``, and the
    body that sends them; a first report too large alone carries less of the event's body."""
    parts: list[bytes] = []
    size = REPORTS_ENVELOPE
    for _, report in rows:
        part = report.encode() if parts else _shrunk(report, max_bytes - size)
        if parts and size + len(part) + 1 > max_bytes:
            break
        size += len(part) + (1 if parts else 0)
        parts.append(part)
    return rows[:len(parts)], b'{"refusals":[' + b",".join(parts) + b"]}"


def _shrunk(report: str, max_bytes: int) -> bytes:
    """A report of at most ``max_bytes`` if cutting the event's body makes it fit."""
    part = report.encode()
    data = json.loads(report)
    while len(part) > max_bytes and data["body"]:
        body = data["body"]
        data["body"] = body[:len(body) // 2 - 1] + "\u2026" if len(body) > 2 else ""
        part = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return part


def _json(response: HTTPResponse) -> dict:
    try:
        data = json.loads(response.body)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _field_of(response: HTTPResponse) -> str:
    field = _json(response).get("field")
    return field if isinstance(field, str) and field else "body"


def _retry_after(response: HTTPResponse) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return 0.0
