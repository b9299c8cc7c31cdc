"""A small LMS service on 127.0.0.1 that speaks the events protocol of
:mod:`lms_extension.content.wire` (``GET api/`` with its limits, ``POST api/events`` answered
with a ``BatchResult``, ``400``/``413`` envelope errors, refusals with ``retry``, ``429``;
``POST api/refusals`` for the lesson server's own refusals, answered with a ``ReportsResult``),
and records what it was sent, for the forwarder's tests. It runs its own event loop in a thread, so
servers in other processes can reach it too."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections import Counter

from pydantic import ValidationError
from tornado import web
from tornado.httpserver import HTTPServer

from lms_extension.content.wire import (
    BatchEnvelope,
    BatchResult,
    EnvelopeError,
    Refusal,
    RefusalReports,
    ReportsResult,
    read_events,
)


class ProtocolService:
    def __init__(self, tokens=("token-a", "token-b"), max_body_bytes: int = 262_144,
                 max_events_per_batch: int = 500, lessons=(("dl-basics", "numpy-basics"),)):
        self.tokens = set(tokens)
        self.max_body_bytes = max_body_bytes  # what it enforces
        self.published_max_body_bytes = max_body_bytes  # what it says it takes
        self.max_events_per_batch = max_events_per_batch
        self.publish_limits = True  # False: GET api/ says nothing of them (an older service)
        self.lessons = set(lessons)
        self.quota_left: int | None = None  # events it takes before refusing with retry=true
        self.retry_after = 30.0
        self.poison: set[str] = set()  # a batch holding one of these ids is refused whole (400)
        self.forced: list[tuple[int, dict, dict]] = []  # (status, body, headers), answered first
        self.delay = 0.0  # seconds each events request takes
        self.stored: dict[str, dict] = {}
        self.requests: list[dict] = []  # {"token", "ids", "bytes", "status"} per events POST
        self.reports: dict[str, dict] = {}  # report id -> the report, as the service holds it
        self.report_requests: list[dict] = []  # {"token", "ids", "bytes", "status"} per POST
        self.reports_forced: list[tuple[int, dict, dict]] = []  # answered first
        self.reports_missing = False  # True: no api/refusals (a service of an older version)
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""

    # -- what the tests look at -----------------------------------------------------------------

    def sent_counts(self) -> Counter:
        """How often each event id was in a request that the service answered 200."""
        return Counter(i for r in self.requests if r["status"] == 200 for i in r["ids"])

    def reported_counts(self) -> Counter:
        """How often each report id was in a request that the service answered 200."""
        return Counter(i for r in self.report_requests if r["status"] == 200 for i in r["ids"])

    # -- running --------------------------------------------------------------------------------

    def start(self) -> ProtocolService:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.setblocking(False)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/services/lms"
        ready = threading.Event()

        def run():
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            app = web.Application([(r"/services/lms/api/", IndexHandler, {"service": self}),
                                   (r"/services/lms/api/events", EventsHandler,
                                    {"service": self}),
                                   (r"/services/lms/api/refusals", ReportsHandler,
                                    {"service": self})])
            self.server = HTTPServer(app, max_body_size=64 * 2**20)
            self.server.add_sockets([sock])
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class _Handler(web.RequestHandler):
    def initialize(self, service: ProtocolService):
        self.service = service

    def prepare(self):
        auth = self.request.headers.get("Authorization", "")
        self.token = auth.removeprefix("token ")
        if self.token not in self.service.tokens:
            raise web.HTTPError(403)

    def answer(self, status: int, body: dict, headers: dict | None = None) -> None:
        self.set_status(status)
        for name, value in (headers or {}).items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class IndexHandler(_Handler):
    def get(self):
        s = self.service
        if not s.publish_limits:
            return self.answer(200, {"openapi": "openapi.json"})
        self.answer(200, {"openapi": "openapi.json", "limits": {
            "max_body_bytes": s.published_max_body_bytes,
            "max_events_per_batch": s.max_events_per_batch,
            "events_per_minute": 0, "max_stored_events": 0}})


class EventsHandler(_Handler):
    async def post(self):
        s = self.service
        record = {"token": self.token, "ids": [], "bytes": len(self.request.body), "status": 0}
        s.requests.append(record)
        s.in_flight += 1
        s.max_in_flight = max(s.max_in_flight, s.in_flight)
        try:
            if s.delay:
                await asyncio.sleep(s.delay)
            status, body, headers = self.judge(record)
        finally:
            s.in_flight -= 1
        record["status"] = status
        self.answer(status, body, headers)

    def judge(self, record: dict) -> tuple[int, dict, dict]:
        s = self.service
        try:
            raw = json.loads(self.request.body)
            record["ids"] = [e.get("id") for e in raw["events"] if isinstance(e, dict)]
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        if s.forced:
            return s.forced.pop(0)
        if len(self.request.body) > s.max_body_bytes:
            return envelope(413, "body", f"more than {s.max_body_bytes} bytes", s.max_body_bytes)
        try:
            batch = BatchEnvelope.model_validate_json(self.request.body)
        except ValidationError as exc:
            return envelope(400, "events", exc.errors()[0]["msg"])
        if len(batch.events) > s.max_events_per_batch:
            return envelope(413, "events", "too many events", s.max_events_per_batch)
        if s.poison & set(record["ids"]):
            return envelope(400, "events", "this batch cannot be read")
        good, refused = read_events(batch.events)
        result = {"accepted": 0, "duplicates": 0, "taken": [], "refused": refused}
        retry = False
        for index, event in good:
            key = str(event.id)
            if (event.course, event.lesson) not in s.lessons:
                refused.append(Refusal(index=index, id=key, field=f"events.{index}.lesson",
                                       reason=f"unknown lesson {event.course}/{event.lesson}"))
            elif key in s.stored:
                result["duplicates"] += 1
                result["taken"].append(key)
            elif s.quota_left is not None and s.quota_left <= 0:
                retry = True
                refused.append(Refusal(index=index, id=key, field=f"events.{index}",
                                       reason="events per minute quota reached", retry=True))
            else:
                if s.quota_left is not None:
                    s.quota_left -= 1
                s.stored[key] = event.model_dump(mode="json")
                result["accepted"] += 1
                result["taken"].append(key)
        answer = BatchResult(**result, retry_after=s.retry_after if retry else None)
        headers = {"Retry-After": str(int(s.retry_after))} if retry else {}
        return 200, json.loads(answer.model_dump_json()), headers


class ReportsHandler(_Handler):
    def post(self):
        s = self.service
        record = {"token": self.token, "ids": [], "bytes": len(self.request.body), "status": 0}
        s.report_requests.append(record)
        status, body, headers = self.judge(record)
        record["status"] = status
        self.answer(status, body, headers)

    def judge(self, record: dict) -> tuple[int, dict, dict]:
        s = self.service
        if s.reports_missing:
            return 404, {"status": 404, "message": "Not Found"}, {}
        if s.reports_forced:
            return s.reports_forced.pop(0)
        if len(self.request.body) > s.max_body_bytes:
            return envelope(413, "body", f"more than {s.max_body_bytes} bytes", s.max_body_bytes)
        try:
            reports = RefusalReports.model_validate_json(self.request.body).refusals
        except ValidationError as exc:
            err = exc.errors()[0]
            return envelope(400, ".".join(str(p) for p in err["loc"]) or "body", err["msg"])
        record["ids"] = [r.report_id for r in reports]
        new = [r for r in reports if r.report_id not in s.reports]
        for report in new:
            s.reports[report.report_id] = report.model_dump(mode="json")
        result = ReportsResult(stored=len(new), duplicates=len(reports) - len(new),
                               taken=record["ids"])
        return 200, result.model_dump(mode="json"), {}


def envelope(status: int, field: str, message: str, limit: int | None = None):
    return status, EnvelopeError(status=status, message=f"{field}: {message}", field=field,
                                 limit=limit).model_dump(), {}
