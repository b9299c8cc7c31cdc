"""Knowledge checks in the API: learners get a lesson's questions and send answers, which the
service grades against keys it never serves; staff get the results per question.

- ``GET api/checks/<course>/<lesson>``: the questions (no key) and the caller's own attempts
  (count, best, latest, passed).
- ``POST api/checks/<course>/<lesson>`` with ``{"answers": {question id: answer}}``: one graded
  attempt, stored; the answer says per question right or not (never what was right). A passed
  attempt completes the lesson when its completion rule needs the checks.
- ``GET api/checks/<course>/<lesson>/results``: per question, each visible learner's latest
  answer, whether it was right and the share right, for the staff of the course's cohorts.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from tornado import web

from lms_extension.content.checks import CheckSet

from .auth import ApiHandler, Viewer
from .check_store import CheckAttempt, load_check_set
from .lti_store import queue_passbacks
from .payloads import PayloadError, parse
from .progress import record_checks_passed
from .reports import course_or_404, visible_learners


class ChecksIn(BaseModel):
    """The body of ``POST api/checks/<course>/<lesson>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answers: dict


async def check_set_or_404(service, course: str, lesson: str) -> CheckSet:
    index = service.content.index
    course_or_404(service, course)
    if index.lesson(course, lesson) is None:
        raise web.HTTPError(404, f"lesson: course {course!r} has no lesson {lesson!r}")
    checks = await service.run_db(lambda s: load_check_set(s, index.sha, course, lesson))
    if checks is None:
        raise web.HTTPError(404, f"lesson: {course}/{lesson} has no knowledge checks")
    return checks


def attempt_row(attempt: CheckAttempt) -> dict:
    return {"at": attempt.at, "correct": attempt.correct, "total": attempt.total,
            "passed": attempt.passed, "results": attempt.results, "answers": attempt.answers}


def own_summary(attempts: list[CheckAttempt]) -> dict:
    """A learner's attempts (oldest first): how many, passed or not, the best and the latest."""
    best = max(attempts, key=lambda a: (a.correct, -a.id)) if attempts else None
    return {"attempts": len(attempts), "passed": any(a.passed for a in attempts),
            "best": attempt_row(best) if best else None,
            "latest": attempt_row(attempts[-1]) if attempts else None}


def _own_attempts(session, user: str, course: str, lesson: str) -> list[CheckAttempt]:
    return list(session.scalars(select(CheckAttempt).where(
        CheckAttempt.user == user, CheckAttempt.course == course, CheckAttempt.lesson == lesson)
        .order_by(CheckAttempt.id)))


class ChecksHandler(ApiHandler):
    async def get(self, course, lesson):
        checks = await check_set_or_404(self.service, course, lesson)
        user = self.viewer.name
        attempts = await self.service.run_db(lambda s: _own_attempts(s, user, course, lesson))
        self.send({"course": course, "lesson": lesson, "checks": checks.public(),
                   **own_summary(attempts)})

    async def post(self, course, lesson):
        checks = await check_set_or_404(self.service, course, lesson)
        try:
            body = parse(ChecksIn, self.request.body, self.service.max_body_bytes)
            answers = checks.check_answers(body.answers)
        except (PayloadError, ValueError) as exc:
            raise web.HTTPError(400, str(exc)) from None
        results = checks.grade(answers)
        passed = checks.passes(results)
        user, index, now = self.viewer.name, self.service.content.index, self.service.utcnow()

        def job(session):
            session.add(CheckAttempt(user=user, course=course, lesson=lesson, version=index.sha,
                                     at=now, answers=answers, results=results,
                                     correct=sum(results.values()), total=len(results),
                                     passed=passed))
            session.flush()
            if passed:
                record_checks_passed(session, user, course, lesson, index, now)
            queue_passbacks(session, index, user, course, lesson, now)  # the score changed
            return _own_attempts(session, user, course, lesson)

        attempts = await self.service.write(job)
        self.send({"course": course, "lesson": lesson, "results": results,
                   "correct": sum(results.values()), "total": len(results), "passed": passed,
                   **own_summary(attempts)})


async def check_results(service, viewer: Viewer, course: str, lesson: str) -> dict:
    """Per question, the latest answer of each learner ``viewer`` may see, right or not, and
    the share of them right (keys are not shown: staff see the learners' answers)."""
    checks = await check_set_or_404(service, course, lesson)
    learners = await visible_learners(service, viewer, course)
    rows = await service.run_db(lambda s: list(s.scalars(select(CheckAttempt).where(
        CheckAttempt.course == course, CheckAttempt.lesson == lesson)
        .order_by(CheckAttempt.id))))
    latest: dict[str, CheckAttempt] = {}
    counts: dict[str, int] = {}
    passed: set[str] = set()
    for row in rows:
        if viewer.admin or row.user in learners:
            latest[row.user] = row
            counts[row.user] = counts.get(row.user, 0) + 1
            if row.passed:
                passed.add(row.user)
    questions = []
    for question in checks.questions:
        answers = [{"user": user, "given": a.answers.get(question.id),
                    "right": bool(a.results.get(question.id))}
                   for user, a in sorted(latest.items())]
        right = sum(1 for a in answers if a["right"])
        questions.append({**question.public(), "answered": len(answers), "right": right,
                          "percent_right": round(100 * right / len(answers)) if answers else None,
                          "answers": answers})
    return {"course": course, "lesson": lesson, "title": checks.title, "titles": checks.titles,
            "learners": [{"user": user, "attempts": counts[user], "passed": user in passed,
                          "correct": a.correct, "total": a.total}
                         for user, a in sorted(latest.items())],
            "questions": questions}


class CheckResultsHandler(ApiHandler):
    async def get(self, course, lesson):
        self.send(await check_results(self.service, self.viewer, course, lesson))


CHECKS_SCHEMAS = (ChecksIn,)


def checks_openapi_paths(op) -> dict:
    """The knowledge-check paths of the OpenAPI document (``op`` builds one operation)."""
    staff = "instructors (for their cohorts) and admins"
    return {
        "/checks/{course}/{lesson}": {
            "get": op("The lesson's knowledge checks without their answer keys, and the "
                      "caller's own attempts: attempts, passed, best and latest (each with "
                      "per-question results); 404 when the lesson has none"),
            "post": op("Answer the lesson's knowledge checks ({\"answers\": {question id: "
                       "answer}}: an option's English text, a list of them, a number or "
                       "text): one graded attempt, stored; per question right or not, never "
                       "the key. A pass completes a lesson whose rule needs its checks",
                       ChecksIn, who="any learner, for themself")},
        "/checks/{course}/{lesson}/results": {"get": op(
            "Per question, the latest answer of each learner the caller may see, right or "
            "not, and the percentage right", who=staff)},
    }
