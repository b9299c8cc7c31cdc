"""The course outline with the learner's status, from the LMS service, kept on disk so that it
is still served (marked stale) while the service cannot be reached; and lesson surveys.

While the home's queue still holds events (``pending_events`` in the outline), the status may be
behind: the outline is fetched again at every request until the queue is empty, whichever of
the learner's servers forwards it."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from tornado import web
from tornado.httpclient import HTTPClientError

from .http import TokenClient


class OutlineSource:
    def __init__(self, service: TokenClient, user: str, cache_file: Path, max_age: float = 30.0,
                 pending: Callable[[], int] = lambda: 0, max_wait: float | None = None):
        self.service = service
        self.user = user
        self.cache_file = cache_file
        self.max_age = max_age
        self.pending = pending
        # with a saved copy, a request waits this long for the service (None: until it answers)
        self.max_wait = max_wait
        self._outdated = False
        self._fetching: asyncio.Future | None = None

    def invalidate(self) -> None:
        """New events reached the service: the next outline is fetched, not taken from the
        cache."""
        self._outdated = True

    async def fetch(self) -> dict:
        # both at once: one round trip to the service, not two
        catalog, progress = await asyncio.gather(
            self.service.get_json("api/catalog"),
            self.service.get_json(f"api/progress/{quote(self.user)}"))
        courses = []
        for course in catalog.get("courses", []):
            status = {row["lesson"]: row for row in progress["courses"].get(course["slug"], [])}
            lessons = [{
                "slug": lesson["slug"], "title": lesson["title"],
                "titles": lesson.get("titles") or {},
                "environment": lesson["environment"], "due": lesson.get("due"),
                "survey": lesson.get("survey"), "completion": lesson["completion"],
                "notebooks": [f"{course['slug']}/{nb}" for nb in lesson["notebooks"]],
                "code_cells": lesson.get("code_cells"),
                "knowledge_checks": lesson.get("knowledge_checks", 0),
                **{k: v for k, v in status.get(lesson["slug"], {}).items() if k != "lesson"},
            } for lesson in course["lessons"]]
            courses.append({"slug": course["slug"], "title": course["title"],
                            "titles": course.get("titles") or {},
                            "lessons": lessons})
        return {"version": catalog.get("version"), "user": self.user, "courses": courses,
                "due_soon_days": progress.get("due_soon_days")}

    async def survey(self, course: str, lesson: str) -> dict:
        """The lesson's survey definition, as the LMS service serves it."""
        if not self.service:
            raise web.HTTPError(503, "no LMS_SERVICE_URL is set: surveys cannot be loaded")
        try:
            return await self.service.get_json(f"api/surveys/{course}/{lesson}")
        except HTTPClientError as exc:
            status = exc.code if exc.code in (404, 403) else 503
            raise web.HTTPError(status, f"survey of {course}/{lesson}: the LMS service "
                                        f"answered {exc.code}") from None
        except OSError as exc:
            raise web.HTTPError(503, f"the LMS service cannot be reached: {exc}") from None

    async def get(self) -> dict:
        """The outline: fresh if possible, else the last one saved (``stale``: true). With a
        saved copy, the service gets ``max_wait`` seconds; a later answer is saved for the next
        request (one fetch at a time, shared by the requests that wait for it)."""
        cached = self._read_cache()
        pending = self.pending()
        if (cached and not self._outdated and not pending and not cached.get("stale")
                and time.time() - cached["fetched_at"] < self.max_age):
            return cached
        try:
            if not self.service:
                raise OSError("no LMS_SERVICE_URL is set")
            if self._fetching is None:
                self._fetching = asyncio.ensure_future(self._fetch_and_save())
                self._fetching.add_done_callback(self._fetched)
            wait = self.max_wait if cached is not None else None
            return await asyncio.wait_for(asyncio.shield(self._fetching), wait)
        except TimeoutError:
            return {**cached, "stale": True, "pending_events": pending,
                    "error": f"the LMS service did not answer within {self.max_wait:g} s"}
        except (HTTPClientError, OSError, ValueError, KeyError) as exc:
            if cached is None:
                return {"courses": [], "stale": True, "pending_events": pending, "error":
                        f"the LMS service did not answer ({type(exc).__name__}: {exc}) and "
                        "nothing is saved yet"}
            return {**cached, "stale": True, "pending_events": pending,
                    "error": f"{type(exc).__name__}: {exc}"}

    async def _fetch_and_save(self) -> dict:
        self._outdated = False  # events taken from now on ask for another fetch
        try:
            outline = await self.fetch()
        except BaseException:
            self._outdated = True
            raise
        outline.update(fetched_at=time.time(), stale=False, pending_events=self.pending())
        self._write_cache(outline)
        return outline

    def _fetched(self, future: asyncio.Future) -> None:
        self._fetching = None
        if not future.cancelled():
            future.exception()  # seen here, whether or not a request still waits for it

    def _read_cache(self) -> dict | None:
        try:
            return json.loads(self.cache_file.read_text())
        except (OSError, ValueError):
            return None

    def _write_cache(self, outline: dict) -> None:
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(outline))
        os.replace(tmp, self.cache_file)
