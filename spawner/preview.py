"""Editors' previews of a branch on the hub: ``GET /hub/lms/preview?ref=<ref>`` lists the lessons
of a branch or pull-request ref of the content repo, and ``GET /hub/lms/preview/open?ref=<ref>&
lesson=<course>/<lesson>`` opens one in the editor's preview server.

The preview server (``LessonSpawner.preview_server_name``, ``preview``) is started through the
hub's spawn page with ``{"lesson": …, "preview": <ref>}`` (:mod:`.preview_content` fetches,
validates and publishes the ref for it alone). A preview server already running the same ref,
commit and lesson is reused; one running anything else is stopped first, so a preview always
shows the ref as it is now. Only editors (``LessonSpawner.preview_groups``) and hub admins see
these pages; ``hub_config/jupyterhub_config.py`` registers :data:`handlers`.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from jupyterhub.handlers.base import BaseHandler
from jupyterhub.utils import url_path_join
from tornado import web

from lms_extension.content.errors import LessonNotFound
from lms_extension.i18n import localized

from .language import current_language

from .open_lesson import lesson_url
from .preview_content import check_may_preview, load_preview


class _PreviewHandler(BaseHandler):
    def _editor(self):
        user = self.current_user
        if getattr(user, "kind", "user") != "user":
            raise web.HTTPError(400, "only a user previews lessons: log in to the hub")
        check_may_preview(user, user.spawner.preview_groups)
        return user

    async def _preview(self, user, ref: str):
        spawner = user.spawner
        if not spawner.content_repo:
            raise web.HTTPError(500, "the hub follows no content repo")
        return await load_preview(spawner.content_repo, ref, spawner.content_cache_dir)


class PreviewHandler(_PreviewHandler):
    """The lessons of a ref, each with a link that opens it in the editor's preview server."""

    @web.authenticated
    async def get(self):
        user = self._editor()
        ref = self.get_query_argument("ref", "").strip()
        full, version, error = "", None, ""
        if ref:
            try:
                full, version = await self._preview(user, ref)
            except web.HTTPError as exc:
                self.set_status(exc.status_code)
                error = exc.log_message or ""
        lang = current_language()
        courses = []
        for course in version.catalog.courses.values() if version is not None else []:
            lessons = [{"slug": lesson.slug, "title": localized(lesson.titles or lesson.title,
                                                                lang),
                        "url": self._open_url(ref, f"{course.slug}/{lesson.slug}")}
                       for lesson in course.lessons]
            courses.append({"slug": course.slug, "lessons": lessons,
                            "title": localized(course.titles or course.title, lang)})
        html = await self.render_template(
            "lms_preview.html", ref=ref, full_ref=full, sha=version.sha if version else "",
            courses=courses, error_lines=error.splitlines(),
            action=url_path_join(self.hub.base_url, "lms/preview"))
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(html)

    def _open_url(self, ref: str, key: str) -> str:
        path = url_path_join(self.hub.base_url, "lms/preview/open")
        return f"{path}?{urlencode({'ref': ref, 'lesson': key})}"


class OpenPreviewHandler(_PreviewHandler):
    """Open one lesson of a ref in the editor's preview server (started or replaced)."""

    @web.authenticated
    async def get(self):
        user = self._editor()
        ref = self.get_query_argument("ref", "").strip()
        key = self.get_query_argument("lesson", "").strip()
        _, version = await self._preview(user, ref)
        try:
            lesson = version.catalog.resolve(key)
        except LessonNotFound as exc:
            raise web.HTTPError(400, f"lesson {key!r}: {exc}") from None
        name = user.spawner.preview_server_name
        if name in user.orm_spawners:
            spawner = user.spawners[name]
            if spawner.active and spawner.ready and not spawner.pending \
                    and getattr(spawner, "preview", "").endswith(f"@{version.sha}") \
                    and spawner.lesson_ref is not None and spawner.lesson_ref.key == key:
                return self.redirect(lesson_url(user, name, lesson))
            if spawner.active:
                if spawner.pending:
                    raise web.HTTPError(409, f"your server {name!r} is busy ({spawner.pending}):"
                                             " open the preview again in a moment")
                await self.stop_single_user(user, name)
        spawn = url_path_join(self.hub.base_url, "spawn", user.escaped_name,
                              quote(name, safe=""))
        self.redirect(f"{spawn}?{urlencode({'lesson': key, 'preview': ref})}")


handlers = [
    (r"/lms/preview", PreviewHandler),
    (r"/lms/preview/open", OpenPreviewHandler),
]
