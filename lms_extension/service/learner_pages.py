"""One learner's page, ``/services/lms/learners/<name>``: their courses with the ordered lessons,
each lesson's status, due date and a link that opens it in the right environment (the hub's
``/hub/lms/open/<course>/<lesson>``), notices for lessons due soon, their survey answers, a
timeline of their activity and the visits to their servers.

The learner sees their own page (``/services/lms/`` shows it to a viewer who is not staff);
instructors see the pages of their cohorts' learners, admins everyone's; anyone else gets the
same 403 whether the name exists or not (:meth:`.auth.Viewer.may_see`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import func, select
from tornado import web

from lms_extension import i18n

from .dashboard import PageHandler
from .db import Cohort, Event, Progress, SurveyResponse
from .progress import COMPLETED, DELAYED, NOT_STARTED, as_utc
from .visits import VisitsUnavailable, visits_of

NAME = r"[^/]+"
TIMELINE_DAYS = 60  # days of activity shown on the page, newest first


def due_notice(due: datetime | None, status: str, now: datetime, window_days: float) -> int | None:
    """Days until ``due`` (0: due today, 1: tomorrow; calendar days in UTC) when a lesson not
    completed nor delayed is due within ``window_days`` from ``now``; else None."""
    if due is None or status in (COMPLETED, DELAYED) or due < now:
        return None
    if due - now > timedelta(days=window_days):
        return None
    return (due.date() - now.date()).days


@dataclass
class LessonLine:
    slug: str
    title: object
    status: str
    due: datetime | None
    due_in: int | None  # days, when due soon
    environment: str
    open_url: str
    survey: dict | None  # {"title", "answers": [(question text, answer)], "updated_at"}


async def learner_courses(service, user: str) -> list[str]:
    """Courses of ``user``: of the cohorts they belong to, and those they have progress in,
    in the catalog's order."""
    index = service.content.index
    cohorts = await service.run_db(lambda s: list(s.scalars(select(Cohort))))
    courses = set()
    for cohort in cohorts:
        if cohort.course in index.courses and user in await service.hub.members(cohort.group):
            courses.add(cohort.course)
    started = await service.run_db(lambda s: set(s.scalars(
        select(Progress.course).where(Progress.user == user).distinct())))
    courses |= {c for c in started if c in index.courses}
    return [slug for slug in index.courses if slug in courses]


def _answer_text(question, value, localized) -> str:
    labels = dict(zip(question.options, getattr(question, "labels", None) or [], strict=False)) \
        if hasattr(question, "options") else {}
    values = value if isinstance(value, list) else [value]
    shown = [localized(labels[v]) if v in labels and labels[v] else str(v) for v in values]
    if getattr(question, "type", "") == "rating":
        return f"{value} / {question.scale}"
    return ", ".join(shown)


def survey_lines(service, course: str, lesson: str, row: SurveyResponse | None,
                 localized) -> dict | None:
    """A learner's answers to a lesson's survey, question by question, in the page's language."""
    if row is None:
        return None
    survey = service.content.index.survey(course, lesson)
    if survey is None:
        return None
    answers = []
    for question in survey.questions:
        if question.id in (row.answers or {}):
            text = localized(getattr(question, "texts", None) or question.text)
            answers.append((text, _answer_text(question, row.answers[question.id], localized)))
    return {"title": localized(getattr(survey, "titles", None) or survey.title),
            "answers": answers, "updated_at": as_utc(row.updated_at)}


def timeline_rows(session, user: str, since: datetime) -> list[tuple]:
    """(day, course, lesson, kind, count, first, last) of ``user``'s events since ``since``,
    newest day first (aggregated in SQL: a learner may have many thousands of events)."""
    day = func.date(Event.at)
    return session.execute(
        select(day, Event.course, Event.lesson, Event.kind, func.count(),
               func.min(Event.at), func.max(Event.at))
        .where(Event.user == user, Event.at >= since)
        .group_by(day, Event.course, Event.lesson, Event.kind)
        .order_by(day.desc(), func.min(Event.at))).all()


def timeline(rows: list[tuple]) -> list[dict]:
    """Days, newest first, each with its lessons (in the order worked on) and what happened:
    ``{"day", "lessons": [{"course", "lesson", "counts": {kind: n}, "first", "last"}]}``."""
    days: dict[str, dict] = {}
    for day, course, lesson, kind, count, first, last in rows:
        entry = days.setdefault(str(day), {"day": str(day), "lessons": {}})
        item = entry["lessons"].setdefault((course, lesson), {
            "course": course, "lesson": lesson, "counts": {}, "first": as_utc(first),
            "last": as_utc(last)})
        item["counts"][kind] = count
        item["first"] = min(item["first"], as_utc(first))
        item["last"] = max(item["last"], as_utc(last))
    return [{"day": d["day"], "lessons": sorted(d["lessons"].values(), key=lambda x: x["first"])}
            for d in days.values()]


async def server_visits(service, user: str) -> list[dict] | None:
    """Visits by others to ``user``'s servers, newest first, as the hub records them; None
    when the hub cannot say just now (the rest of the page still shows)."""
    try:
        return await visits_of(service, user)
    except VisitsUnavailable as exc:
        service.log.warning("learner page of %s: %s", user, exc)
        return None


async def learner_page_data(service, user: str, lang_localized, hub_url: str) -> dict:
    """Everything the learner page shows about ``user`` (the caller checked who may see it)."""
    index = service.content.index
    now = service.utcnow()
    courses = await learner_courses(service, user)
    rows, surveys, events = await service.run_db(lambda s: (
        {(r.course, r.lesson): r for r in s.scalars(select(Progress).where(
            Progress.user == user))},
        {(r.course, r.lesson): r for r in s.scalars(select(SurveyResponse).where(
            SurveyResponse.user == user))},
        timeline_rows(s, user, now - timedelta(days=TIMELINE_DAYS))))
    due = await service.due_dates(user)
    window = service.due_soon_days
    shown = []
    for slug in courses:
        course = index.courses[slug]
        lessons = []
        for lesson in course["lessons"]:
            row = rows.get((slug, lesson["slug"]))
            status = row.status if row is not None else NOT_STARTED
            when = due.get((user, slug, lesson["slug"]))
            lessons.append(LessonLine(
                slug=lesson["slug"], title=lesson.get("titles") or lesson["title"],
                status=status, due=when, due_in=due_notice(when, status, now, window),
                environment=lesson.get("environment", ""),
                open_url=f"{hub_url}lms/open/{quote(slug)}/{quote(lesson['slug'])}",
                survey=survey_lines(service, slug, lesson["slug"],
                                    surveys.get((slug, lesson["slug"])), lang_localized)))
        shown.append({"slug": slug, "title": course.get("titles") or course["title"],
                      "lessons": lessons,
                      "done": sum(1 for x in lessons if x.status == COMPLETED)})
    titles = {(c, lesson["slug"]): lesson.get("titles") or lesson["title"]
              for c, course in index.courses.items() for lesson in course["lessons"]}
    return {"user": user, "courses": shown, "now": now, "window": window,
            "notices": [(c, x) for c in shown for x in c["lessons"]
                        if x.due_in is not None or x.status == DELAYED],
            "answered": sum(1 for c in shown for x in c["lessons"] if x.survey),
            "timeline": timeline(events), "titles": titles, "timeline_days": TIMELINE_DAYS,
            "visits": await server_visits(service, user)}


class LearnerPage(PageHandler):
    """``learners/<name>``: the learner page of ``name``."""

    @web.authenticated
    async def get(self, name):
        await show_learner_page(self, await self.viewer(), name)


async def show_learner_page(handler: PageHandler, viewer, name: str) -> None:
    """Render ``name``'s learner page for ``viewer``, or 403 (the same for a name that does not
    exist) when ``viewer`` may not see it."""
    service = handler.service
    if not await viewer.may_see(name, service.hub):
        raise web.HTTPError(403, f"{viewer.name} may not see the page of {name}")
    lang = handler.lang
    hub_url = handler.hub_auth.hub_host + handler.settings.get("hub_prefix", "/hub/")
    data = await learner_page_data(service, name, lambda v: i18n.localized(v, lang), hub_url)
    handler.render_page("learner.html", viewer=viewer, own=name == viewer.name, **data)


def learner_routes(base: str) -> list[tuple]:
    root = re.escape(base.rstrip("/"))
    return [(rf"{root}/learners/({NAME})", LearnerPage)]
