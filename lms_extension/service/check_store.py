"""The tables of knowledge checks and the reads the progress rules need.

``check_sets`` holds each content version's checks, answer keys included, apart from the
catalog JSON that ``api/catalog`` serves; ``check_attempts`` every graded attempt. The format
is :mod:`lms_extension.content.checks`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms_extension.content.catalog import Catalog
from lms_extension.content.checks import CheckSet

from .db import NAME, SLUG, Base


class CheckSetRow(Base):
    """One lesson's knowledge checks in one content version (keys included: never served)."""

    __tablename__ = "check_sets"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    course: Mapped[str] = mapped_column(SLUG, primary_key=True)
    lesson: Mapped[str] = mapped_column(SLUG, primary_key=True)
    definition: Mapped[dict] = mapped_column(JSON)


class CheckAttempt(Base):
    """One graded attempt: the learner's answers and, per question, right or not."""

    __tablename__ = "check_attempts"
    __table_args__ = (Index("ix_check_attempts_user_lesson", "user", "course", "lesson"),
                      Index("ix_check_attempts_course_lesson", "course", "lesson"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user: Mapped[str] = mapped_column(NAME)
    course: Mapped[str] = mapped_column(SLUG)
    lesson: Mapped[str] = mapped_column(SLUG)
    version: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answers: Mapped[dict] = mapped_column(JSON)
    results: Mapped[dict] = mapped_column(JSON)  # question id -> right or not
    correct: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)


def store_check_sets(session: Session, sha: str, catalog: Catalog, data: dict) -> None:
    """Record the checks of content version ``sha`` (once; a version never changes), and
    mark each lesson that has checks in its catalog JSON ``data`` with the number of its
    questions (``knowledge_checks``), nothing more."""
    for course in data["courses"]:
        for lesson in course["lessons"]:
            checks = catalog.checks.get(course["slug"], {}).get(lesson["slug"])
            lesson["knowledge_checks"] = len(checks.questions) if checks else 0
    for course, lessons in catalog.checks.items():
        for lesson, checks in lessons.items():
            if session.get(CheckSetRow, (sha, course, lesson)) is None:
                session.add(CheckSetRow(version=sha, course=course, lesson=lesson,
                                        definition=checks.model_dump(mode="json")))


def load_check_set(session: Session, sha: str, course: str, lesson: str) -> CheckSet | None:
    row = session.get(CheckSetRow, (sha, course, lesson)) if sha else None
    return CheckSet.model_validate(row.definition) if row is not None else None


def checks_passed(session: Session, user: str, course: str, lesson: str) -> bool:
    """Whether ``user`` passed the lesson's checks in some attempt."""
    return session.scalars(select(CheckAttempt.id).where(
        CheckAttempt.user == user, CheckAttempt.course == course, CheckAttempt.lesson == lesson,
        CheckAttempt.passed.is_(True)).limit(1)).first() is not None
