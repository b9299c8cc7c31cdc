"""Jupyter Server extension for lesson servers.

On start-up it brings the lesson named by ``LMS_COURSE`` / ``LMS_LESSON`` (set by the hub's
``LessonSpawner``) from the read-only content at ``LMS_CONTENT_DIR`` into the home folder, and it
serves, under ``/lms/api/``:

- ``context``: the lesson this server was started for and what was brought into the home;
- ``events``: POST a batch of learner events (kept in a durable queue in the home folder and
  forwarded to the LMS service at ``LMS_SERVICE_URL``), GET the queue's state.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from . import __version__
from .events import EventForwarder, EventQueue
from .materialize import Materialized, materialize

QUEUE_FILE = ".local/share/lms/events.sqlite"
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


def _event_forwarder(serverapp) -> EventForwarder:
    queue = EventQueue(Path(os.path.expanduser("~")) / QUEUE_FILE)
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


def _load_jupyter_server_extension(serverapp):
    serverapp.web_app.settings["lms"] = _lesson_context(serverapp)
    serverapp.web_app.settings["lms_events"] = _event_forwarder(serverapp)
    base_url = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [
        (url_path_join(base_url, "lms", "api", "context"), ContextHandler),
        (url_path_join(base_url, "lms", "api", "events"), EventsHandler),
    ])
