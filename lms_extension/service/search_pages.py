"""The search page at ``/services/lms/search?q=…``: the course search (:mod:`.search`) for
people in a browser; each hit links to the hub's ``lms/open/<course>/<lesson>``, which opens
the lesson in its environment. The form itself is ``templates/_search.html``, for any page."""

from __future__ import annotations

import re

from tornado import web

from .dashboard import PageHandler
from .search import SearchInputError, read_query


class SearchPage(PageHandler):
    @web.authenticated
    async def get(self):
        viewer = await self.viewer()
        index = self.service.search.index
        courses = self.service.content.index.courses
        raw = self.get_argument("q", None)
        context = {"viewer": viewer, "q": raw or "", "course": self.get_argument("course", ""),
                   "courses": list(courses.values()), "results": None, "error": None}
        if raw is not None:
            try:
                q, course, limit = read_query(raw, context["course"],
                                              self.get_argument("limit", None), courses)
            except SearchInputError as exc:
                self.set_status(400)
                context["error"] = exc
            else:
                context["results"] = index.search(q, course, limit)
        self.render_page("search.html", **context)


def search_page_routes(base: str) -> list[tuple]:
    root = re.escape(base.rstrip("/"))
    return [(rf"{root}/search", SearchPage)]
