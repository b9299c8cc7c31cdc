"""Jupyter Server extension for lesson servers.

On start-up it brings the course of the lesson named by ``LMS_COURSE`` / ``LMS_LESSON`` (set by
the hub's ``LessonSpawner``) into the home folder: from the course's learner repo at
``LMS_LEARNER_REPO`` with nbgitpuller, or, without one, by copying the lesson's files from the
read-only content at ``LMS_CONTENT_DIR``. It serves, under ``/lms/api/``:

- ``context``: the lesson this server was started for, what was brought into the home, this
  extension's version (JupyterLab's half checks it) and the idle time after which the server
  is stopped (``LMS_IDLE_TIMEOUT``, or the server's own ``shutdown_no_activity_timeout``);
- ``events``: POST a batch of learner events (kept in a durable queue in the home folder and
  forwarded to the LMS service at ``LMS_SERVICE_URL``), GET the queue's state;
- ``outline``: the course outline with the learner's status (from the LMS service; the last
  one is kept on disk and served, marked stale, while the service cannot be reached);
- ``access``: who other than the owner used this server (admins, instructors), and when;
- ``update``: GET whether the learner repo has a newer content version and what it changes,
  POST merge it into the home (nbgitpuller), with a report of the files both sides changed;
- ``surveys/<course>/<lesson>``: the lesson's survey (from the LMS service);
- ``servers``: start a lesson in another environment as another named server, and follow its
  start progress; ``activity``: tell the hub the learner is active (see :mod:`.servers`).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from . import __version__
from .access import AccessLog
from .events import EventForwarder, EventQueue
from .materialize import Materialized, materialize
from .outline import OutlineSource
from .pull import CoursePuller, PullError
from .servers import ActivityHandler, HubServers, ServerProgressHandler, ServersHandler

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
        self.settings["lms_outline"].invalidate()
        self.finish(json.dumps({"received": queued, **forwarder.status()}))


class OutlineHandler(APIHandler):
    @web.authenticated
    async def get(self):
        self.finish(json.dumps(await self.settings["lms_outline"].get()))


class UpdateHandler(APIHandler):
    """New content versions: what changed (GET), and merging them into the home (POST)."""

    def _puller(self) -> CoursePuller:
        puller = self.settings.get("lms_puller")
        if puller is None:
            raise web.HTTPError(404, "this server has no course learner repo (LMS_LEARNER_REPO)")
        return puller

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


class SurveyHandler(APIHandler):
    @web.authenticated
    async def get(self, course, lesson):
        self.finish(json.dumps(await self.settings["lms_outline"].survey(course, lesson)))


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


def _idle_timeout(serverapp) -> int:
    """Seconds of inactivity after which this server is stopped (0: never)."""
    limits = [int(float(os.environ.get("LMS_IDLE_TIMEOUT") or 0)),
              int(getattr(serverapp, "shutdown_no_activity_timeout", 0) or 0)]
    positive = [t for t in limits if t > 0]
    return min(positive) if positive else 0


def _bring_in_course(serverapp, context: dict, repo: str) -> CoursePuller | None:
    puller = CoursePuller(repo, Path(serverapp.root_dir) / context["course"])
    try:
        context["materialized"] = {"from": "learner repo", "version": puller.bring_in()}
    except (PullError, OSError) as exc:
        context["error"] = f"could not bring course {context['course']!r} into the home folder: {exc}"
        serverapp.log.error("lms_extension: %s", context["error"])
        return None
    return puller


def _lesson_context(serverapp) -> tuple[dict, CoursePuller | None]:
    env = os.environ
    context = {
        "version": __version__,
        "course": env.get("LMS_COURSE", ""),
        "lesson": env.get("LMS_LESSON", ""),
        "content_version": env.get("LMS_CONTENT_VERSION", ""),
        "environment": env.get("LMS_ENVIRONMENT", ""),
        "user": env.get("JUPYTERHUB_USER", ""),
        "server_name": env.get("JUPYTERHUB_SERVER_NAME", ""),
        "idle_timeout": _idle_timeout(serverapp),
        "materialized": None,
        "error": "",
    }
    content_dir = env.get("LMS_CONTENT_DIR", "")
    if context["course"] and env.get("LMS_LEARNER_REPO"):
        return context, _bring_in_course(serverapp, context, env["LMS_LEARNER_REPO"])
    if not (context["course"] and context["lesson"] and content_dir):
        return context, None
    try:
        result: Materialized = materialize(
            Path(content_dir), context["lesson"], Path(serverapp.root_dir), context["course"]
        )
    except Exception as exc:  # the server must still start; the learner sees the reason
        context["error"] = f"could not bring lesson {context['lesson']!r} into the home folder: {exc}"
        serverapp.log.error("lms_extension: %s", context["error"])
        return context, None
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
    return context, None


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
    settings["lms"], settings["lms_puller"] = _lesson_context(serverapp)
    settings["lms_events"] = _event_forwarder(serverapp, state)
    settings["lms_outline"] = OutlineSource(
        env.get("LMS_SERVICE_URL", ""), env.get("JUPYTERHUB_API_TOKEN", ""),
        env.get("JUPYTERHUB_USER", ""), state / "outline.json")
    settings["lms_access"] = AccessLog(env.get("JUPYTERHUB_USER", ""), state / "access.jsonl")
    settings["lms_servers"] = HubServers(env.get("JUPYTERHUB_API_URL", ""),
                                         env.get("JUPYTERHUB_API_TOKEN", ""),
                                         env.get("JUPYTERHUB_USER", ""))
    _watch_access(settings, settings["lms_access"])
    base_url = settings["base_url"]
    routes = (("context", ContextHandler), ("events", EventsHandler),
              ("outline", OutlineHandler), ("access", AccessHandler), ("update", UpdateHandler),
              (r"surveys/([a-z0-9][a-z0-9-]*)/([a-z0-9][a-z0-9-]*)", SurveyHandler),
              ("servers", ServersHandler), (r"servers/([^/]+)/progress", ServerProgressHandler),
              ("activity", ActivityHandler))
    serverapp.web_app.add_handlers(".*$", [
        (url_path_join(base_url, "lms", "api", path), handler) for path, handler in routes
    ])
