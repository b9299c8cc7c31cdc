"""Jupyter Server extension for lesson servers.

On start-up it brings the lesson named by ``LMS_COURSE`` / ``LMS_LESSON`` (set by the hub's
``LessonSpawner``) from the read-only content at ``LMS_CONTENT_DIR`` into the home folder, and it
serves, under ``/lms/api/``:

- ``context``: the lesson this server was started for and what was brought into the home;
- ``events``: POST a batch of learner events (kept in a durable queue in the home folder and
  forwarded to the LMS service at ``LMS_SERVICE_URL``), GET the queue's state;
- ``outline``: the course outline with the learner's status (from the LMS service; the last
  one is kept on disk and served, marked stale, while the service cannot be reached);
- ``access``: who other than the owner used this server (admins, instructors), and when.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from . import __version__
from .access import AccessLog
from .events import EventForwarder, EventQueue
from .materialize import Materialized, materialize
from .outline import OutlineSource

STATE_DIR = ".local/share/lms"  # in the learner's home, which outlives the container
FORWARD_INTERVAL = 5.0
MAX_EVENTS_BODY = 262_144


class ContextHandler(APIHandler):
    """The lesson this server was started for, and what was brought into the home folder."""

    @web.authenticated
    async def get(self):
        settings = self.settings["lms"]
        self.finish(json.dumps(settings))


class EventsHandler(APIHandler):
    """Learner events from JupyterLab: queued durably first, then forwarded."""

    @web.authenticated
    async def get(self):
        self.finish(json.dumps(self.settings["lms_events"].status()))

    @web.authenticated
    async def post(self):
        from pydantic import ValidationError

        from .service.payloads import EventBatch

        if len(self.request.body) > MAX_EVENTS_BODY:
            raise web.HTTPError(400, f"body: more than {MAX_EVENTS_BODY} bytes")
        try:
            batch = EventBatch.model_validate_json(self.request.body)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "body"
            raise web.HTTPError(400, f"{field}: {err['msg']}") from None
        forwarder = self.settings["lms_events"]
        queued = forwarder.queue.put([e.model_dump(mode="json", exclude_none=True)
                                      for e in batch.events])
        await forwarder.flush()
        self.finish(json.dumps({"received": queued, **forwarder.status()}))


class OutlineHandler(APIHandler):
    @web.authenticated
    async def get(self):
        self.finish(json.dumps(await self.settings["lms_outline"].get()))


class AccessHandler(APIHandler):
    @web.authenticated
    async def get(self):
        log = self.settings["lms_access"]
        self.finish(json.dumps({"owner": log.owner, "visits": log.records()}))


def _event_forwarder(serverapp, state: Path) -> EventForwarder:
    queue = EventQueue(state / "events.sqlite")
    forwarder = EventForwarder(queue, os.environ.get("LMS_SERVICE_URL", ""),
                               os.environ.get("JUPYTERHUB_API_TOKEN", ""))
    if os.environ.get("LMS_SERVICE_URL"):
        from tornado.ioloop import PeriodicCallback

        PeriodicCallback(forwarder.flush, FORWARD_INTERVAL * 1000).start()
    else:
        serverapp.log.warning("lms_extension: no LMS_SERVICE_URL; events stay queued")
    return forwarder


def _lesson_context(serverapp) -> dict:
    env = os.environ
    context = {
        "version": __version__,
        "course": env.get("LMS_COURSE", ""),
        "lesson": env.get("LMS_LESSON", ""),
        "content_version": env.get("LMS_CONTENT_VERSION", ""),
        "environment": env.get("LMS_ENVIRONMENT", ""),
        "materialized": None,
        "error": "",
    }
    content_dir = env.get("LMS_CONTENT_DIR", "")
    if not (context["course"] and context["lesson"] and content_dir):
        return context
    try:
        result: Materialized = materialize(
            Path(content_dir), context["lesson"], Path(serverapp.root_dir), context["course"]
        )
    except Exception as exc:  # the server must still start; the learner sees the reason
        context["error"] = f"could not bring lesson {context['lesson']!r} into the home folder: {exc}"
        serverapp.log.error("lms_extension: %s", context["error"])
        return context
    context["materialized"] = {
        "copied": result.copied,
        "kept": result.kept,
        "first_notebook": result.first_notebook,
    }
    serverapp.log.info(
        "lms_extension: lesson %s/%s: %d file(s) copied, %d kept from the learner's home",
        context["course"],
        context["lesson"],
        len(result.copied),
        len(result.kept),
    )
    return context


def _watch_access(settings: dict, access: AccessLog) -> None:
    previous = settings.get("log_function")

    def log_function(handler):
        access.observe(handler)
        if previous is not None:
            previous(handler)

    settings["log_function"] = log_function


def _load_jupyter_server_extension(serverapp):
    settings = serverapp.web_app.settings
    env = os.environ
    state = Path(os.path.expanduser("~")) / STATE_DIR
    settings["lms"] = _lesson_context(serverapp)
    settings["lms_events"] = _event_forwarder(serverapp, state)
    settings["lms_outline"] = OutlineSource(
        env.get("LMS_SERVICE_URL", ""), env.get("JUPYTERHUB_API_TOKEN", ""),
        env.get("JUPYTERHUB_USER", ""), state / "outline.json")
    settings["lms_access"] = AccessLog(env.get("JUPYTERHUB_USER", ""), state / "access.jsonl")
    _watch_access(settings, settings["lms_access"])
    base_url = settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [
        (url_path_join(base_url, "lms", "api", name), handler)
        for name, handler in (("context", ContextHandler), ("events", EventsHandler),
                              ("outline", OutlineHandler), ("access", AccessHandler))
    ])
