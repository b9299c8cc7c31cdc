"""What instructors and admins look at: a course's progress matrix and a lesson's survey
results, limited to the learners the viewer may see. Shared by the API and the dashboard."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import case, func, literal, or_, select
from tornado import web

from .auth import Viewer
from .db import Cohort, Progress, SurveyResponse
from .progress import DELAYED, NOT_STARTED

STATUS_CODES = {NOT_STARTED: "-", "in_progress": "i", "completed": "c", DELAYED: "d"}


def course_or_404(service, course: str) -> None:
    if course not in service.content.index.courses:
        raise web.HTTPError(404, f"course: no course {course!r} in the live content")


def survey_or_404(service, course: str, lesson: str):
    survey = service.content.index.survey(course, lesson)
    if survey is None:
        raise web.HTTPError(404, f"lesson: {course}/{lesson} has no survey")
    return survey


async def taught_cohorts(service, viewer: Viewer, course: str) -> list[Cohort]:
    """The cohorts of ``course`` that ``viewer`` teaches (admins and instructors of every
    cohort: all of them); 403 for a viewer who teaches none of them, so an instructor reads
    only the courses their cohorts are bound to."""
    if not viewer.admin and not viewer.is_instructor:
        raise web.HTTPError(403, f"{viewer.name} may not see the learners of {course}")
    cohorts = await service.run_db(lambda s: list(s.scalars(
        select(Cohort).where(Cohort.course == course))))
    if viewer.admin or viewer.teaches is None:
        return cohorts
    taught = [c for c in cohorts if viewer.teaches_cohort(c.group)]
    if not taught:
        raise web.HTTPError(403, f"{viewer.name} may not see the learners of {course}: "
                                 "no cohort they teach is bound to it")
    return taught


async def visible_learners(service, viewer: Viewer, course: str) -> dict[str, set[str]]:
    """Learners in the cohorts of ``course`` that ``viewer`` teaches, with their cohorts.

    Admins see every cohort (and, in the reports, learners outside any cohort too).
    """
    learners: dict[str, set[str]] = defaultdict(set)
    for cohort in await taught_cohorts(service, viewer, course):
        for user in await service.hub.members(cohort.group):
            learners[user].add(cohort.group)
    return learners


def _course_rows(session, course: str, users: list[str] | None) -> tuple[list, list]:
    """Per learner, "lesson:status,…" (aggregated in SQL: 2,000 rows rather than 120,000);
    per lesson, how many started and completed it and the median active time of those who
    completed it (a window function, on SQLite and PostgreSQL alike). ``users``: only these
    learners (None: all)."""
    where = [Progress.course == course]
    if users is not None:
        where.append(Progress.user.in_(users))
    cells = func.aggregate_strings(Progress.lesson + literal(":") + Progress.status, ",")
    matrix = session.execute(select(Progress.user, cells).where(*where)
                             .group_by(Progress.user)).all()
    counts = select(
        Progress.lesson,
        func.count(Progress.first_opened).label("started"),
        func.sum(case((Progress.status == "completed", 1), else_=0)).label("completed"),
    ).where(*where).group_by(Progress.lesson).subquery()
    ranked = select(
        Progress.lesson, Progress.active_seconds,
        func.row_number().over(partition_by=Progress.lesson,
                               order_by=Progress.active_seconds).label("rn"),
        func.count().over(partition_by=Progress.lesson).label("n"),
    ).where(*where, Progress.status == "completed").subquery()
    medians = select(ranked.c.lesson, func.avg(ranked.c.active_seconds).label("median")).where(
        or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
    ).group_by(ranked.c.lesson).subquery()
    funnel = session.execute(
        select(counts.c.lesson, counts.c.started, counts.c.completed, medians.c.median)
        .join(medians, medians.c.lesson == counts.c.lesson, isouter=True)).all()
    return matrix, funnel


async def course_progress(service, viewer: Viewer, course: str) -> dict:
    """The progress matrix of a course: one status letter per lesson per learner (compact, so
    a class of thousands stays a small response), the delayed learners and the funnel."""
    course_or_404(service, course)
    learners = await visible_learners(service, viewer, course)
    index = service.content.index
    slugs = index.lesson_slugs(course)
    position = {slug: i for i, slug in enumerate(slugs)}
    users = None if viewer.admin else sorted(learners)
    matrix_rows, funnel_rows = await service.run_db(lambda s: _course_rows(s, course, users))
    matrix = {user: ["-"] * len(slugs) for user in learners}
    for user, cells in matrix_rows:
        row = matrix.get(user)
        if row is None and viewer.admin:
            row = matrix[user] = ["-"] * len(slugs)
        if row is None:
            continue
        for cell in cells.split(","):
            lesson, _, status = cell.partition(":")
            at = position.get(lesson)
            if at is not None:
                row[at] = STATUS_CODES.get(status, "?")
    by_lesson = {lesson: (started, completed, med) for lesson, started, completed, med
                 in funnel_rows}
    funnel = []
    for slug in slugs:
        started, completed, med = by_lesson.get(slug, (0, 0, None))
        info = index.lesson(course, slug)
        funnel.append({"lesson": slug, "title": info["title"], "titles": info.get("titles") or {},
                       "started": started, "completed": completed,
                       "median_active_seconds": med})
    return {"course": course, "lessons": slugs,
            "legend": {code: status for status, code in STATUS_CODES.items()},
            "learners": {user: "".join(matrix[user]) for user in sorted(matrix)},
            "cohorts": {u: sorted(c) for u, c in learners.items()},
            "delayed": sorted(u for u, row in matrix.items() if "d" in row),
            "funnel": funnel}


async def survey_responses(service, viewer: Viewer, course: str, lesson: str):
    """The lesson's survey, the responses ``viewer`` may see (oldest first) and the visible
    learners' cohorts."""
    course_or_404(service, course)
    learners = await visible_learners(service, viewer, course)
    survey = survey_or_404(service, course, lesson)
    rows = await service.run_db(lambda s: list(s.scalars(select(SurveyResponse).where(
        SurveyResponse.course == course, SurveyResponse.lesson == lesson)
        .order_by(SurveyResponse.updated_at, SurveyResponse.user))))
    if not viewer.admin:
        rows = [r for r in rows if r.user in learners]
    return survey, rows, learners


async def survey_results(service, viewer: Viewer, course: str, lesson: str) -> dict:
    """Answers to a lesson's survey: counts per option, free text as a list."""
    survey, rows, _ = await survey_responses(service, viewer, course, lesson)
    results = []
    for question in survey.questions:
        answers = [r.answers[question.id] for r in rows if question.id in r.answers]
        entry = {"id": question.id, "type": question.type, "text": question.text,
                 "texts": question.texts, "answered": len(answers)}
        if question.type == "text":
            entry["answers"] = answers
        else:
            options = ([str(n) for n in range(1, question.scale + 1)]
                       if question.type == "rating" else question.options)
            flat = Counter(str(a) for v in answers for a in (v if isinstance(v, list) else [v]))
            entry["counts"] = {option: flat[option] for option in options if flat[option]}
            entry["options"] = options
            entry["labels"] = getattr(question, "labels", [])
        results.append(entry)
    return {"course": course, "lesson": lesson, "title": survey.title, "titles": survey.titles,
            "responses": len(rows),
            "questions": results}
