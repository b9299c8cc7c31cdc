"""The server extension's API under ``/lms/api/``; every route needs the server's login."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from urllib.parse import urlencode

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from pydantic import ValidationError
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from ..content.model import SLUG
from ..content.wire import (
    MAX_EVENTS_PER_BATCH,
    BatchEnvelope,
    BatchResult,
    EnvelopeError,
    EventIn,
    event_id,
    read_events,
)
from .http import message_of
from .pull import PullError

LESSON_KEY = re.compile(f"{SLUG}/{SLUG}")
MAX_SERVERS_BODY = 4096
MAX_READ_OVERSIZED = 8 * 2**20  # a body over the events limit is read (for one event) up to this


def max_length(model, field: str) -> int:
    """The ``max_length`` a pydantic model sets on one of its fields."""
    return next(m.max_length for m in model.model_fields[field].metadata
                if getattr(m, "max_length", None) is not None)


class LmsHandler(ExtensionHandlerMixin, APIHandler):
    """A handler of this extension; ``self.lms`` is the extension app."""

    @property
    def lms(self):
        return self.extensionapp

    async def pass_through(self, path: str, method: str = "GET", body: bytes | None = None,
                           what: str = "this") -> None:
        """Forward a request to the LMS service with this server's token and pass its answer
        on; 503 when no service is set, it cannot be reached, or it fails or refuses the token."""
        service = self.lms.outline.service
        if not service:
            raise web.HTTPError(503, f"no LMS_SERVICE_URL is set: {what} cannot be done")
        try:
            response = await service.fetch(path, method, body, raise_error=False)
        except (OSError, HTTPClientError) as exc:  # not reached, or no answer in time
            raise web.HTTPError(503, f"the LMS service cannot be reached: {exc}") from None
        if response.code >= 500 or response.code in (401, 403):
            raise web.HTTPError(503, "the LMS service answered "
                                f"{message_of(response, str(response.code))}")
        self.set_status(response.code)
        self.set_header("Content-Type", "application/json")
        self.finish(response.body)


class ContextHandler(LmsHandler):
    """The lesson this server was started for, what was brought into the home folder, and what
    one events batch may hold."""

    @web.authenticated
    async def get(self):
        self.finish(json.dumps({**self.lms.lesson_context, "limits": {
            "max_body_bytes": self.lms.events_max_body_bytes,
            "max_events_per_batch": MAX_EVENTS_PER_BATCH,
            "notebook_max_length": max_length(EventIn, "notebook"),
        }}))


class EventsHandler(LmsHandler):
    """Learner events from JupyterLab, judged one by one: the well-formed ones are queued
    durably (then forwarded), the others refused by their index, on the LMS service's protocol
    (:mod:`lms_extension.content.wire`), and reported to the service for the learner's
    instructors."""

    @web.authenticated
    async def get(self):
        self.finish(json.dumps(self.lms.forwarder.status()))

    def _envelope_error(self, status: int, field: str, message: str, limit: int | None = None):
        self.set_status(status)
        self.finish(EnvelopeError(status=status, field=field, message=f"{field}: {message}",
                                  limit=limit).model_dump_json())

    @web.authenticated
    async def post(self):
        limit = self.lms.events_max_body_bytes
        if len(self.request.body) > limit:
            message = f"{len(self.request.body)} bytes is more than the limit of {limit}"
            await self._refuse_alone(message)
            return self._envelope_error(413, "body", message, limit)
        try:
            envelope = BatchEnvelope.model_validate_json(self.request.body)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "body"
            return self._envelope_error(400, field, err["msg"])
        if len(envelope.events) > MAX_EVENTS_PER_BATCH:
            return self._envelope_error(413, "events", f"{len(envelope.events)} events; at "
                                        f"most {MAX_EVENTS_PER_BATCH} in one batch",
                                        MAX_EVENTS_PER_BATCH)
        good, refused = read_events(envelope.events)
        events = [e.model_dump(mode="json", exclude_none=True) for _, e in good]
        queued = await asyncio.to_thread(self.lms.queue.put, events) if events else 0
        if refused:  # kept for the learner to see (GET events), reported to the LMS service
            await asyncio.to_thread(self.lms.queue.refuse, [
                (_kept_as_refused(envelope.events[r.index], r.id), r.field, r.reason)
                for r in refused], dequeue=False, report=True)
            self.log.warning("lms_extension: %d event(s) refused, e.g. %s: %s", len(refused),
                             refused[0].field, refused[0].reason)
        if events:
            self.lms.outline.invalidate()
        if events or refused:
            self.lms.forwarder.kick()
        self.finish(BatchResult(accepted=queued, duplicates=len(events) - queued,
                                taken=[e["id"] for e in events],
                                refused=refused).model_dump_json())

    async def _refuse_alone(self, message: str) -> None:
        """A body over the limit that holds one event: JupyterLab drops that event when it is
        refused, so it is kept aside (and reported) here. A larger batch is split instead."""
        if len(self.request.body) > MAX_READ_OVERSIZED:
            return
        try:
            events = (await asyncio.to_thread(json.loads, self.request.body))["events"]
        except (ValueError, TypeError, KeyError):
            return
        if isinstance(events, list) and len(events) == 1:
            event = _kept_as_refused(events[0], event_id(events[0]))
            await asyncio.to_thread(self.lms.queue.refuse, [(event, "body", message)],
                                    dequeue=False, report=True)
            self.lms.forwarder.kick()


def _kept_as_refused(raw, event_id: str | None) -> dict:
    """A refused event as it is kept: under its id, or a made-up one if it had none."""
    event = raw if isinstance(raw, dict) else {"value": raw}
    return {**event, "id": event_id or f"unreadable-{uuid.uuid4()}"}


class OutlineHandler(LmsHandler):
    @web.authenticated
    async def get(self):
        self.finish(json.dumps(await self.lms.outline.get()))


class UpdateHandler(LmsHandler):
    """New content versions: what changed (GET), and merging them into the home (POST)."""

    def _puller(self):
        if self.lms.puller is None:
            raise web.HTTPError(404, "this server has no course learner repo (LMS_LEARNER_REPO)")
        return self.lms.puller

    @web.authenticated
    async def get(self):
        puller = self._puller()
        try:
            info = await asyncio.to_thread(puller.check, time.monotonic())
        except PullError as exc:
            raise web.HTTPError(503, str(exc)) from None
        self.finish(json.dumps(info.__dict__))

    @web.authenticated
    async def post(self):
        puller = self._puller()
        try:
            report = await asyncio.to_thread(puller.update)
        except PullError as exc:
            raise web.HTTPError(503, str(exc)) from None
        self.log.info("lms_extension: content update %s -> %s, conflicts: %s",
                      report.from_version[:12], report.to_version[:12], report.conflicts)
        self.finish(json.dumps(report.as_dict()))


class SurveyHandler(LmsHandler):
    @web.authenticated
    async def get(self, course, lesson):
        self.finish(json.dumps(await self.lms.outline.survey(course, lesson)))


class AccessHandler(LmsHandler):
    """Who else opened the owner's servers, from the hub's record (see :mod:`.access`)."""

    @web.authenticated
    async def get(self):
        try:
            visits = await self.lms.visits.records()
        except (HTTPClientError, OSError) as exc:
            raise web.HTTPError(502, f"the hub did not list the visits: {exc}") from None
        self.finish(json.dumps({"owner": self.lms.visits.owner, "visits": visits}))


class ServersHandler(LmsHandler):
    """Start the named server for a lesson in another environment (see :mod:`.servers`)."""

    @web.authenticated
    async def post(self):
        if len(self.request.body) > MAX_SERVERS_BODY:
            raise web.HTTPError(400, f"body: more than {MAX_SERVERS_BODY} bytes")
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "body: not JSON") from None
        lesson = body.get("lesson") if isinstance(body, dict) else None
        if not isinstance(lesson, str) or not LESSON_KEY.fullmatch(lesson):
            raise web.HTTPError(400, "lesson: must be '<course>/<lesson>'")
        outline = await self.lms.outline.get()
        environments = {f"{c['slug']}/{l['slug']}": l["environment"]
                        for c in outline.get("courses", []) for l in c["lessons"]}
        if lesson not in environments:
            raise web.HTTPError(400, f"lesson: {lesson!r} is not in the course outline")
        self.finish(json.dumps(await self.lms.hub_servers.start(
            lesson, environments[lesson], environments.get)))


class ActivityHandler(LmsHandler):
    """The learner is here: the hub hears it now, so the idle culler leaves this server be
    (the learner chose *Keep working* when warned that the idle server is about to stop)."""

    @web.authenticated
    async def post(self):
        at = await self.lms.hub_servers.report_activity(self.lms.server_name)
        self.finish(json.dumps({"last_activity": at}))


class ServerProgressHandler(LmsHandler):
    """The hub's start progress of one of the owner's servers, as server-sent events."""

    @web.authenticated
    async def get(self, name):
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")

        def relay(chunk: bytes) -> None:
            self.write(chunk)
            self.flush()

        try:
            await AsyncHTTPClient().fetch(self.lms.hub_servers.progress_request(name, relay))
        except HTTPClientError as exc:
            failed = {"failed": True, "message": message_of(exc, f"the hub answered {exc.code}")}
            self.write(f"data: {json.dumps(failed)}\n\n")
        self.finish()


class SearchHandler(LmsHandler):
    """Course search: ``?q=…[&course=…][&limit=…]`` forwarded to the LMS service with this
    server's token; the service's answer (hits, or a 400 naming the parameter) is passed on."""

    @web.authenticated
    async def get(self):
        query = {name: self.get_argument(name) for name in ("q", "course", "limit")
                 if self.get_argument(name, None) is not None}
        await self.pass_through(f"api/search?{urlencode(query)}", what="searching the course")


class ChecksHandler(LmsHandler):
    """A lesson's knowledge checks: ``GET`` the questions and the learner's attempts, ``POST``
    answers to be graded, both forwarded to the LMS service with this server's token; the
    service's answer (it holds the keys and grades) is passed on."""

    MAX_BODY = 65_536

    async def _forward(self, course: str, lesson: str, method: str, body: bytes | None):
        await self.pass_through(f"api/checks/{course}/{lesson}", method, body,
                                what="answering knowledge checks")

    @web.authenticated
    async def get(self, course, lesson):
        await self._forward(course, lesson, "GET", None)

    @web.authenticated
    async def post(self, course, lesson):
        if len(self.request.body) > self.MAX_BODY:
            raise web.HTTPError(400, f"body: more than {self.MAX_BODY} bytes")
        await self._forward(course, lesson, "POST", self.request.body or b"{}")


ROUTES = (
    ("context", ContextHandler),
    ("events", EventsHandler),
    ("outline", OutlineHandler),
    ("access", AccessHandler),
    ("update", UpdateHandler),
    (f"surveys/({SLUG})/({SLUG})", SurveyHandler),
    ("servers", ServersHandler),
    (r"servers/([^/]+)/progress", ServerProgressHandler),
    ("activity", ActivityHandler),
    ("search", SearchHandler),
    (f"checks/({SLUG})/({SLUG})", ChecksHandler),
)
