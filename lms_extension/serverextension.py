"""Jupyter Server extension for lesson servers.

On start-up it brings the lesson named by ``LMS_COURSE`` / ``LMS_LESSON`` (set by the hub's
``LessonSpawner``) from the read-only content at ``LMS_CONTENT_DIR`` into the home folder, and it
serves the lesson context at ``/lms/api/context``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from . import __version__
from .materialize import Materialized, materialize


class ContextHandler(APIHandler):
    """The lesson this server was started for, and what was brought into the home folder."""

    @web.authenticated
    async def get(self):
        settings = self.settings["lms"]
        self.finish(json.dumps(settings))


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
    base_url = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(
        ".*$", [(url_path_join(base_url, "lms", "api", "context"), ContextHandler)]
    )
