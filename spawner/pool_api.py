"""``GET``/``PUT /hub/api/lms/pool``: the hub's warm lesson pools, for hub admins.

``GET`` answers ``{"warm_lessons": {"course/lesson": N}, "schedule": [sessions], "wanted":
{"course/lesson": N}, "lessons": {"course/lesson": {"ready": R, "starting": S}}}`` (``wanted``:
what is kept warm now). ``PUT`` with ``{"warm_lessons": {"course/lesson": N, …}}`` and/or
``{"schedule": [{"lesson": …, "start": …, "count": N}]}`` replaces them until the hub restarts
(``LMS_WARM_LESSONS`` and ``LMS_WARM_SCHEDULE`` set them at start): new lessons are warmed at
once, the servers of lessons that left are removed. Every lesson must be in the catalog and its
environment's image allowed; a bad entry is refused with HTTP 400 naming its field, and nothing
changes.

Allowed: a hub admin's own login or token holding ``custom:lms:admin`` (never a lesson
server's token), or a service whose role grants that scope. Registered by
``hub_config/jupyterhub_config.py`` through ``JupyterHub.extra_handlers``.
"""

from __future__ import annotations

import json

from jupyterhub.apihandlers.base import APIHandler
from tornado import web

from .lesson_pool import LessonPool
from .pool_schedule import parse_sessions, parse_warm_lessons

ADMIN_SCOPE = "custom:lms:admin"


class PoolHandler(APIHandler):
    def pool(self) -> LessonPool:
        user = self.current_user
        if user is None:
            raise web.HTTPError(403, "a hub token or login is needed")
        owner_is_admin = getattr(user, "kind", "user") == "service" or getattr(user, "admin",
                                                                                False)
        if not (owner_is_admin and ADMIN_SCOPE in self.expanded_scopes):
            raise web.HTTPError(403, "only hub admins may see or change the warm lesson pools")
        pool = LessonPool.current()
        if pool is None:
            raise web.HTTPError(503, "warm lesson pools are not running on this hub (they "
                                     "need LMS_SPAWNER=docker)")
        return pool

    def send(self, data: dict) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    async def get(self):
        self.send(self.pool().status())

    async def put(self):
        pool = self.pool()
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            raise web.HTTPError(400, "the body must be JSON: {\"warm_lessons\": "
                                     "{\"course/lesson\": 2}}") from None
        if not isinstance(body, dict) or not body or set(body) - {"warm_lessons", "schedule"}:
            raise web.HTTPError(400, "the body must be {\"warm_lessons\": {…}} and/or "
                                     "{\"schedule\": […]}")
        lessons = body.get("warm_lessons", pool.warm_lessons)
        if not isinstance(lessons, dict) or not all(
                isinstance(n, int) and not isinstance(n, bool) for n in lessons.values()):
            raise web.HTTPError(400, "warm_lessons: must be an object of lesson → whole "
                                     "number, like {\"dl-basics/numpy-basics\": 2}")
        try:
            lessons = parse_warm_lessons(",".join(f"{k}={v}" for k, v in lessons.items()),
                                         "warm_lessons")
            schedule = body.get("schedule", pool.schedule)
            sessions = parse_sessions(schedule, "schedule")
        except ValueError as exc:
            raise web.HTTPError(400, str(exc)) from None
        checker = pool.placeholder("lms-pool-check")
        named = [("warm_lessons", key) for key in lessons]
        named += [(f"schedule[{i}].lesson", s.lesson) for i, s in enumerate(sessions)]
        for field, key in named:
            try:
                await checker.resolve_lesson({"lesson": key})
            except web.HTTPError as exc:
                raise web.HTTPError(exc.status_code if exc.status_code != 500 else 503,
                                    f"{field}: {key}: {exc.log_message}") from None
        pool.warm_lessons = lessons
        pool.schedule = schedule
        pool.wake()
        self.send(pool.status())


handlers = [(r"/api/lms/pool", PoolHandler)]
