"""The instructors' dashboard at ``/services/lms/``: server-rendered pages behind hub OAuth."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import jinja2
from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from sqlalchemy import select
from tornado import web

from lms_extension import i18n
from lms_extension.content.model import SLUG

from .auth import Viewer
from .db import Cohort
from .exports import progress_csv, survey_csv
from .deadlines import newly_delayed
from .identicon import identicon_svg
from .matrix_filters import apply_filters, filter_query, read_filters
from .refusals import course_refusals
from .reports import course_or_404, course_progress, survey_responses, survey_results

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
)
REFUSALS_SHOWN = 20  # on a course's page; all of them through the API
NEWLY_DELAYED_WINDOW = timedelta(days=7)  # on the front page: learners delayed this recently


class PageHandler(HubOAuthenticated, web.RequestHandler):
    """A dashboard page: the hub's OAuth login, then the viewer's role decides what shows."""

    @property
    def hub_auth(self):
        return self.settings["page_auth"]

    @property
    def service(self):
        return self.settings["lms"]

    async def viewer(self) -> Viewer:
        """Who is logged in, from the scopes of their OAuth token for this service (an admin's
        carries ``custom:lms:admin``, an instructor's their cohorts); the hub is not asked."""
        return Viewer.from_model(self.current_user)

    def send_csv(self, name: str, text: str) -> None:
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(text)

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = self._reason
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        self.render_page("error.html", viewer=None, status=status_code, message=message)

    @property
    def lang(self) -> str:
        """The page's language: the language switch's cookie, else the browser's."""
        return i18n.pick_language(self.get_cookie(i18n.COOKIE),
                                  self.request.headers.get("Accept-Language"))

    def render_page(self, template: str, **context) -> None:
        # the hub's own host: with per-user origins the service has a host of its own
        hub_prefix = self.hub_auth.hub_host + self.settings.get("hub_prefix", "/hub/")
        lang = self.lang
        page = TEMPLATES.get_template(template).render(
            base=self.service.base_url, hub=hub_prefix, lang=lang, _=i18n.gettext(lang),
            localized=lambda value: i18n.localized(value, lang),
            languages=i18n.LANGUAGE_NAMES, here=self.request.uri, **context)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(page)


class OAuthCallback(HubOAuthCallbackHandler):
    """The end of the hub OAuth login, with the dashboard's own HubOAuth (the API's HubAuth
    takes tokens only)."""

    @property
    def hub_auth(self):
        return self.settings["page_auth"]


class HomePage(PageHandler):
    @web.authenticated
    async def get(self):
        viewer = await self.viewer()
        if not (viewer.admin or viewer.is_instructor):  # a learner: their own page
            from .learner_pages import show_learner_page

            return await show_learner_page(self, viewer, viewer.name)
        index = self.service.content.index
        cohorts = await self.service.run_db(lambda s: list(s.scalars(select(Cohort))))
        cohorts = [c for c in cohorts if viewer.teaches_cohort(c.group)]
        courses = list(index.courses.values())
        if not viewer.admin and viewer.teaches:
            # an instructor gets the courses their cohorts are bound to
            taught = {c.course for c in cohorts}
            courses = [c for c in courses if c["slug"] in taught]
        self.render_page("home.html", viewer=viewer, courses=courses, cohorts=cohorts,
                         staff=viewer.admin or viewer.is_instructor,
                         content=self.service.content.status() if viewer.admin else None,
                         newly_delayed=await newly_delayed(self.service, viewer,
                                                           NEWLY_DELAYED_WINDOW))


class CoursePage(PageHandler):
    @web.authenticated
    async def get(self, course):
        viewer = await self.viewer()
        data = await course_progress(self.service, viewer, course)
        filters = read_filters(self, data)
        data = apply_filters(data, filters)
        index = self.service.content.index
        lessons = index.courses[course]["lessons"]
        size = self.service.dashboard_page_size
        learners = list(data["learners"].items())
        pages = max(1, -(-len(learners) // size))
        try:
            number = min(max(int(self.get_argument("page", "1")), 1), pages)
        except ValueError:
            raise web.HTTPError(400, "page: must be a whole number") from None
        shown = learners[(number - 1) * size: number * size]
        refused = await course_refusals(self.service, viewer, course, REFUSALS_SHOWN)
        self.render_page("course.html", viewer=viewer, data=data, lessons=lessons,
                         title=(index.courses[course].get("titles")
                                or index.courses[course]["title"]),
                         rows=shown, page=number,
                         pages=pages, first=(number - 1) * size + 1, refusals=refused,
                         filters=filters, filter_query=filter_query(filters))


class CourseCsv(PageHandler):
    @web.authenticated
    async def get(self, course):
        data = await course_progress(self.service, await self.viewer(), course)
        data = apply_filters(data, read_filters(self, data))
        self.send_csv(f"{course}-progress.csv", progress_csv(data))


class SurveyCsv(PageHandler):
    @web.authenticated
    async def get(self, course, lesson):
        survey, rows, learners = await survey_responses(
            self.service, await self.viewer(), course, lesson)
        self.send_csv(f"{course}-{lesson}-survey.csv", survey_csv(survey, rows, learners))


class SurveyPage(PageHandler):
    @web.authenticated
    async def get(self, course, lesson):
        viewer = await self.viewer()
        course_or_404(self.service, course)
        data = await survey_results(self.service, viewer, course, lesson)
        self.render_page("survey.html", viewer=viewer, data=data,
                         lesson_title=self.service.content.index.lesson(course, lesson)["titles"]
                         or self.service.content.index.lesson(course, lesson)["title"])


class LanguageSwitch(PageHandler):
    """``lang?to=ko&next=/path``: remember the language (the ``lms-lang`` cookie, read by the
    dashboard and the hub's pages alike) and go back to ``next``, a path on this site."""

    @web.authenticated
    async def get(self):
        to = self.get_argument("to", "")
        if to not in i18n.LANGUAGES:
            raise web.HTTPError(400, f"to: must be one of {', '.join(i18n.LANGUAGES)}")
        self.set_cookie(i18n.COOKIE, to, path="/", expires_days=365, samesite="Lax")
        self.redirect(i18n.safe_next(self.get_argument("next", ""), self.service.base_url))


class IdenticonHandler(PageHandler):
    @web.authenticated
    async def get(self, name):
        self.set_header("Content-Type", "image/svg+xml")
        self.set_header("Cache-Control", "private, max-age=86400")
        self.finish(identicon_svg(name))


def dashboard_routes(base: str) -> list[tuple]:
    root = re.escape(base.rstrip("/"))
    return [
        (rf"{root}/?", HomePage),
        (rf"{root}/oauth_callback", OAuthCallback),
        (rf"{root}/courses/({SLUG})", CoursePage),
        (rf"{root}/courses/({SLUG})/progress\.csv", CourseCsv),
        (rf"{root}/courses/({SLUG})/surveys/({SLUG})", SurveyPage),
        (rf"{root}/courses/({SLUG})/surveys/({SLUG})/answers\.csv", SurveyCsv),
        (rf"{root}/identicon/([^/]+)\.svg", IdenticonHandler),
        (rf"{root}/lang", LanguageSwitch),
    ]

