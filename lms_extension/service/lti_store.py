"""LTI launches and the durable queue of scores to pass back to the school's LMS.

A launch (``lti_launches``) says which line item of the platform's gradebook scores which
learner's lesson (``lesson`` set) or whole course (``lesson`` empty). Whenever what a line item
would show changes (a lesson turns completed, a knowledge-check attempt is stored, a launch is
recorded), :func:`queue_passbacks` computes the score, in the same transaction as the change:

- a lesson: the best knowledge-check attempt (correct of total) when the learner made one, else
  1 of 1 once the lesson is completed; ``activityProgress`` ``Completed`` once it is completed,
  else ``Submitted`` (checks answered, lesson not done);
- a whole course: completed lessons of the course's lessons in the live content version;
  ``Completed`` when all are, else ``InProgress``.

Every score is final for its state (``gradingProgress`` ``FullyGraded``). Nothing done yet: no
score. A launch has at most one open passback (``pending`` or ``failed``); a newer state
replaces its score and starts its attempts again. The state a platform took last is kept on
the launch (``delivered_key``): the same state again queues nothing, so the same score is never
posted twice, however often the events that led to it are resent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .check_store import CheckAttempt
from .content import CatalogIndex
from .db import NAME, SLUG, Base, Progress

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
OPEN = (PENDING, FAILED)
WHOLE_COURSE = ""


class LtiLaunch(Base):
    """The newest launch of one learner from one line item of the school's LMS."""

    __tablename__ = "lti_launches"
    __table_args__ = (Index("ux_lti_launches_user_lineitem", "user", "lineitem", unique=True),
                      Index("ix_lti_launches_user_course", "user", "course"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user: Mapped[str] = mapped_column(NAME)
    sub: Mapped[str] = mapped_column(String(255))  # the learner's LTI user id (userId of scores)
    course: Mapped[str] = mapped_column(SLUG)
    lesson: Mapped[str] = mapped_column(SLUG, default=WHOLE_COURSE)  # "": the whole course
    lineitem: Mapped[str] = mapped_column(String(1000))
    scope: Mapped[list] = mapped_column(JSON)
    issuer: Mapped[str] = mapped_column(String(1000))
    client_id: Mapped[str] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(String(255))
    context: Mapped[str] = mapped_column(String(255))
    launched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_key: Mapped[str | None] = mapped_column(String(200))  # the state the platform has


class PassbackRow(Base):
    """One score to post to a launch's line item, and how its delivery went."""

    __tablename__ = "lti_passbacks"
    __table_args__ = (Index("ix_lti_passbacks_status_next", "status", "next_try_at"),
                      Index("ix_lti_passbacks_launch", "launch_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    launch_id: Mapped[int] = mapped_column(ForeignKey("lti_launches.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # pending, delivered, failed
    score_given: Mapped[float] = mapped_column(Float)
    score_maximum: Mapped[float] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(32))
    grading_progress: Mapped[str] = mapped_column(String(32))
    state_key: Mapped[str] = mapped_column(String(200))
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # of the state
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Score:
    given: float
    maximum: float
    activity: str
    grading: str = "FullyGraded"

    @property
    def key(self) -> str:
        return f"{self.given:g}/{self.maximum:g}/{self.activity}/{self.grading}"


def lesson_score(session: Session, user: str, course: str, lesson: str) -> Score | None:
    row = session.get(Progress, (user, course, lesson))
    completed = row is not None and row.status == "completed"
    attempts = list(session.execute(select(CheckAttempt.correct, CheckAttempt.total).where(
        CheckAttempt.user == user, CheckAttempt.course == course,
        CheckAttempt.lesson == lesson)).all())
    activity = "Completed" if completed else "Submitted"
    if attempts:
        correct, total = max(attempts, key=lambda a: (a[0] / a[1] if a[1] else 0, a[0]))
        return Score(float(correct), float(total), activity)
    return Score(1.0, 1.0, activity) if completed else None


def course_score(session: Session, index: CatalogIndex, user: str, course: str) -> Score | None:
    if course not in index.courses:
        return None
    lessons = index.lesson_slugs(course)
    done = set(session.scalars(select(Progress.lesson).where(
        Progress.user == user, Progress.course == course, Progress.status == "completed")))
    completed = len(done & set(lessons))
    if not completed:
        return None
    activity = "Completed" if completed == len(lessons) else "InProgress"
    return Score(float(completed), float(len(lessons)), activity)


def launch_score(session: Session, index: CatalogIndex, launch: LtiLaunch) -> Score | None:
    if launch.lesson == WHOLE_COURSE:
        return course_score(session, index, launch.user, launch.course)
    return lesson_score(session, launch.user, launch.course, launch.lesson)


def queue_launch(session: Session, index: CatalogIndex, launch: LtiLaunch,
                 at: datetime) -> PassbackRow | None:
    """Queue the launch's current score, unless the platform has it or it is queued already."""
    score = launch_score(session, index, launch)
    if score is None:
        return None
    open_row = session.scalars(select(PassbackRow).where(
        PassbackRow.launch_id == launch.id, PassbackRow.status.in_(OPEN))
        .with_for_update()).first()
    if score.key == launch.delivered_key:
        if open_row is not None:  # the state went back to what the platform holds
            session.delete(open_row)
        return None
    if open_row is not None and open_row.state_key == score.key:
        return open_row
    if open_row is None:
        open_row = PassbackRow(launch_id=launch.id)
        session.add(open_row)
    open_row.status = PENDING
    open_row.score_given, open_row.score_maximum = score.given, score.maximum
    open_row.activity_progress, open_row.grading_progress = score.activity, score.grading
    open_row.state_key = score.key
    open_row.timestamp = at
    open_row.attempts = 0
    open_row.next_try_at = at
    open_row.last_error = None
    return open_row


def queue_passbacks(session: Session, index: CatalogIndex, user: str, course: str,
                    lesson: str, at: datetime) -> int:
    """``user``'s ``course``/``lesson`` changed (completed, or a check attempt stored): queue
    the new score of every launch of theirs whose line item covers that lesson (that lesson,
    or the whole course). Runs in the transaction of the change. Returns how many launches
    got a new score queued."""
    launches = session.scalars(select(LtiLaunch).where(
        LtiLaunch.user == user, LtiLaunch.course == course,
        LtiLaunch.lesson.in_([lesson, WHOLE_COURSE]))).all()
    return sum(1 for launch in launches if queue_launch(session, index, launch, at) is not None)
