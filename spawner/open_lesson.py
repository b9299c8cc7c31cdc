"""Lesson links that open the right environment: ``GET /hub/lms/open/<course>/<lesson>`` and the
hub's spawn links with ``?lesson=``.

A lesson opens in a server of the learner that runs its environment's image, by the rule of the
JupyterLab lesson switch (:func:`lms_extension.server.servers.ready_server_for`): a ready server
already running a lesson of that environment is reused, and the browser lands on the lesson's
first notebook in it; otherwise the environment's named server
(:func:`~lms_extension.server.servers.server_name_for`) is started with ``{"lesson": key}``
through the hub's spawn page, which shows its progress and then opens the notebook.

The spawn links ``/hub/spawn?lesson=…``, ``/hub/spawn/<user>?lesson=…`` and
``/hub/spawn/<user>/<server>?lesson=…`` follow the same rule whenever the server they name is
already running (or starting) another environment, so a link never opens a lesson in another
environment's image; when that server is stopped, or runs the lesson's environment, the hub's
own spawn page handles the link as before. JupyterHub routes its spawn page before any extra
handler, so :func:`route_spawn_links` puts :class:`LessonSpawnHandler` (a subclass of the hub's
``SpawnHandler``) in its place in the hub's handler table; ``hub_config/jupyterhub_config.py``
calls it and registers :data:`handlers` through ``JupyterHub.extra_handlers``.
"""

from __future__ import annotations

import posixpath
from urllib.parse import quote, urlencode

from jupyterhub.handlers.base import BaseHandler
from jupyterhub.handlers.pages import SpawnHandler
from jupyterhub.scopes import needs_scope
from jupyterhub.utils import url_path_join
from tornado import web

from lms_extension.content.catalog import LessonRef
from lms_extension.content.errors import LessonNotFound
from lms_extension.content.model import SLUG
from lms_extension.server.servers import ready_server_for, server_name_for

from .content_source import ContentUnavailable


def _running_lesson(spawner) -> str:
    """The lesson a server was started for: its ``lesson`` option, else the lesson the spawner
    resolved (a start that named none got the default lesson)."""
    lesson = (spawner.user_options or {}).get("lesson") or ""
    ref = getattr(spawner, "lesson_ref", None)
    return str(lesson or (ref.key if ref is not None else ""))


def _servers(user) -> dict:
    """The user's servers as the hub's REST API models them, as far as the rule needs."""
    servers = {}
    for name in list(user.orm_spawners):
        spawner = user.spawners[name]
        options = {"lesson": _running_lesson(spawner)}
        if (spawner.user_options or {}).get("preview"):
            options["preview"] = spawner.user_options["preview"]
        servers[name] = {"ready": spawner.ready, "active": spawner.active,
                         "user_options": options}
    return servers


async def _catalog(user):
    try:
        return (await user.spawner.content.current()).catalog
    except ContentUnavailable as exc:
        raise web.HTTPError(503, str(exc)) from None


def _environment_of(catalog):
    def environment_of(key: str) -> str | None:
        try:
            return catalog.resolve(key).environment_name
        except LessonNotFound:
            return None

    return environment_of


def lesson_url(user, server_name: str, ref: LessonRef) -> str:
    """The lesson's first notebook in JupyterLab in ``user``'s server ``server_name``."""
    notebook = posixpath.join(ref.course.slug, ref.first_notebook)
    return url_path_join(user.server_url(server_name), "lab/tree", quote(notebook))


def spawn_url(hub_base: str, user, server_name: str, key: str) -> str:
    """The hub's spawn link that starts ``user``'s server ``server_name`` with lesson ``key``."""
    path = url_path_join(hub_base, "spawn", user.escaped_name, quote(server_name, safe=""))
    return f"{path}?{urlencode({'lesson': key})}"


async def where_to_open(hub_base: str, user, ref: LessonRef, catalog,
                        asked: str | None = None) -> str | None:
    """Where the browser goes to open lesson ``ref`` for ``user``: a ready server of the lesson's
    environment (its first notebook), else the spawn link of the environment's named server.

    ``asked``: the server a spawn link names (``""`` the default server); None (the hub's spawn
    page takes the link as it is) when that server is stopped or runs the lesson's environment.
    """
    environment = ref.environment_name
    environment_of = _environment_of(catalog)
    servers = _servers(user)
    ready = ready_server_for(servers, environment, environment_of)
    if ready is not None:
        return lesson_url(user, ready, ref)
    if asked is not None:
        model = servers.get(asked)
        if model is None or not model["active"]:
            return None
        if environment_of(model["user_options"]["lesson"]) == environment:
            return None  # starting this environment: the spawn page follows the start
    name = server_name_for(environment)
    model = servers.get(name)
    if model is not None and model["active"]:
        running = model["user_options"]["lesson"]
        if environment_of(running) != environment:
            raise web.HTTPError(
                409, f"lesson {ref.key!r} runs in environment {environment!r}, but your server "
                     f"{name!r} runs lesson {running or 'unknown'!r} in another environment: "
                     "stop that server on the hub's home page and open the lesson again")
    if asked == name:
        return None
    return spawn_url(hub_base, user, name, ref.key)


class OpenLessonHandler(BaseHandler):
    """``GET /hub/lms/open/<course>/<lesson>``: open the lesson for the logged-in learner."""

    @web.authenticated
    async def get(self, course: str, lesson: str):
        user = self.current_user
        if getattr(user, "kind", "user") != "user":
            raise web.HTTPError(400, "only a user opens lessons: log in to the hub")
        catalog = await _catalog(user)
        key = f"{course}/{lesson}"
        try:
            ref = catalog.resolve(key)
        except LessonNotFound as exc:
            raise web.HTTPError(400, f"lesson {key!r}: {exc}") from None
        target = await where_to_open(self.hub.base_url, user, ref, catalog)
        self.redirect(target or spawn_url(self.hub.base_url, user, "", ref.key))


class LessonSpawnHandler(SpawnHandler):
    """The hub's spawn page; a link with ``?lesson=`` whose server runs another environment is
    sent where the lesson's environment runs (:func:`where_to_open`)."""

    @web.authenticated
    def get(self, user_name=None, server_name=""):
        if not self.get_query_argument("lesson", "") or self.get_query_argument("preview", ""):
            # (a preview link starts the editor's preview server as it names it)
            return super().get(user_name, server_name)
        if user_name is None:
            user_name = self.current_user.name
        return self._get_lesson(user_name=user_name, server_name=server_name or "")

    @needs_scope("servers")
    async def _get_lesson(self, user_name, server_name):
        user = self.current_user
        if user_name != user.name:
            user = self.find_user(user_name)
            if user is None:
                raise web.HTTPError(404, f"No such user: {user_name}")
        catalog = await _catalog(user)
        key = self.get_query_argument("lesson")
        try:
            ref = catalog.resolve(key)
        except LessonNotFound as exc:
            spawner = user.spawners[server_name] if server_name in user.orm_spawners else None
            if spawner is not None and spawner.active:
                raise web.HTTPError(400, f"lesson {key!r}: {exc}") from None
            ref = None  # the spawn form answers 400 naming it, as for any bad option
        target = None
        if ref is not None:
            target = await where_to_open(self.hub.base_url, user, ref, catalog, server_name)
        if target is None:
            return await self._get(user_name=user_name, server_name=server_name)
        self.redirect(target)


def route_spawn_links() -> None:
    """Serve the hub's spawn links with :class:`LessonSpawnHandler` (call from the hub config,
    before the hub builds its handler table)."""
    from jupyterhub import handlers as hub_handlers

    hub_handlers.default_handlers[:] = [
        (entry[0], LessonSpawnHandler, *entry[2:]) if entry[1] is SpawnHandler else entry
        for entry in hub_handlers.default_handlers
    ]


handlers = [
    (rf"/lms/open/({SLUG})/({SLUG})", OpenLessonHandler),
]
