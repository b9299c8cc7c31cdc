"""The dashboard's page of a lesson's knowledge checks: per question, what each learner of the
viewer's cohorts answered last, right or not, and the share right. Linked from the course page.
"""

from __future__ import annotations

import re

from tornado import web

from lms_extension.content.model import SLUG

from .checks_api import CheckResultsHandler, ChecksHandler, check_results
from .dashboard import PageHandler


class CheckResultsPage(PageHandler):
    @web.authenticated
    async def get(self, course, lesson):
        viewer = await self.viewer()
        data = await check_results(self.service, viewer, course, lesson)
        info = self.service.content.index.lesson(course, lesson)
        self.render_page("checks.html", viewer=viewer, data=data,
                         lesson_title=info["titles"] or info["title"])


def check_routes(base: str) -> list[tuple]:
    """The knowledge-check routes: the API (:mod:`.checks_api`) and the dashboard page."""
    root = re.escape(base.rstrip("/"))
    return [
        (rf"{root}/api/checks/({SLUG})/({SLUG})", ChecksHandler),
        (rf"{root}/api/checks/({SLUG})/({SLUG})/results", CheckResultsHandler),
        (rf"{root}/courses/({SLUG})/checks/({SLUG})", CheckResultsPage),
    ]
