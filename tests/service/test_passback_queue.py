"""The passback queue's rules on a real (SQLite) database at the newest schema: what is queued
for which change, and that a state the platform has is never queued again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lms_extension.service.check_store import CheckAttempt
from lms_extension.service.content import CatalogIndex
from lms_extension.service.db import Progress, make_engine, make_sessionmaker
from lms_extension.service.lti_store import (
    DELIVERED,
    LtiLaunch,
    PassbackRow,
    queue_passbacks,
)
from lms_extension.service.migrate import ensure_schema
from lms_extension.service.passback import scores_url

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
INDEX = CatalogIndex("sha", {"courses": [{"slug": "dl", "lessons": [
    {"slug": slug, "title": slug, "completion": {"rule": "executed", "fraction": 1.0}}
    for slug in ("one", "two", "three", "four")]}]})


@pytest.fixture
def session(tmp_path):
    url = f"sqlite:///{tmp_path}/lms.sqlite"
    engine = make_engine(url)
    ensure_schema(engine, url)
    with make_sessionmaker(engine)() as session:
        for lesson, item in (("one", "l1"), ("", "course")):
            session.add(LtiLaunch(user="ann", sub="Ann-1", course="dl", lesson=lesson,
                                  lineitem=f"https://lms.example/items/{item}", scope=[],
                                  issuer="https://lms.example", client_id="tool",
                                  deployment_id="d1", context="ctx", launched_at=NOW))
        session.commit()
        yield session


def complete(session, lesson: str) -> None:
    session.add(Progress(user="ann", course="dl", lesson=lesson, status="completed",
                         completed_at=NOW, cells_ok=[], errors=0, active_seconds=0.0))
    session.flush()


def waiting(session) -> dict[str, tuple]:
    """line item -> (status, score) of every score not delivered."""
    rows = session.query(PassbackRow, LtiLaunch).join(
        LtiLaunch, LtiLaunch.id == PassbackRow.launch_id).filter(PassbackRow.status != DELIVERED)
    return {launch.lineitem.rsplit("/", 1)[1]: (row.status, row.score_given, row.score_maximum,
                                                row.activity_progress) for row, launch in rows}


def deliver_all(session) -> None:
    """What the passback task does once the platform took each score."""
    for row in session.query(PassbackRow).filter(PassbackRow.status != DELIVERED):
        session.get(LtiLaunch, row.launch_id).delivered_key = row.state_key
        row.status = DELIVERED
    session.flush()


def test_nothing_done_queues_nothing(session):
    assert queue_passbacks(session, INDEX, "ann", "dl", "one", NOW) == 0
    assert waiting(session) == {}


def test_a_completion_queues_the_lesson_and_the_course(session):
    complete(session, "one")
    queue_passbacks(session, INDEX, "ann", "dl", "one", NOW)
    assert waiting(session) == {"l1": ("pending", 1, 1, "Completed"),
                                "course": ("pending", 1, 4, "InProgress")}
    queue_passbacks(session, INDEX, "ann", "dl", "one", NOW)  # the same state again
    assert session.query(PassbackRow).count() == 2


def test_a_delivered_state_is_never_queued_again(session):
    complete(session, "one")
    queue_passbacks(session, INDEX, "ann", "dl", "one", NOW)
    deliver_all(session)
    queue_passbacks(session, INDEX, "ann", "dl", "one", NOW)
    assert waiting(session) == {}
    # another lesson changes the course's score only
    complete(session, "two")
    queue_passbacks(session, INDEX, "ann", "dl", "two", NOW)
    assert waiting(session) == {"course": ("pending", 2, 4, "InProgress")}


def test_the_best_check_attempt_is_the_lessons_score(session):
    for correct in (1, 3, 2):
        session.add(CheckAttempt(user="ann", course="dl", lesson="one", version="sha", at=NOW,
                                 answers={}, results={}, correct=correct, total=4,
                                 passed=correct == 4))
        session.flush()
        queue_passbacks(session, INDEX, "ann", "dl", "one", NOW)
    # one score waits per line item: the newest state replaced the older ones
    assert waiting(session) == {"l1": ("pending", 3, 4, "Submitted")}


def test_a_newer_state_replaces_a_failed_one_and_starts_again(session):
    complete(session, "one")
    queue_passbacks(session, INDEX, "ann", "dl", "one", NOW)
    for row in session.query(PassbackRow):
        row.status, row.attempts, row.last_error = "failed", 8, "HTTP 500"
    complete(session, "two")
    queue_passbacks(session, INDEX, "ann", "dl", "two", NOW)
    course = waiting(session)["course"]
    assert course == ("pending", 2, 4, "InProgress")
    assert waiting(session)["l1"][0] == "failed"  # its state did not change


@pytest.mark.parametrize("lineitem, scores", [
    ("https://lms.example/items/7", "https://lms.example/items/7/scores"),
    ("https://lms.example/items/7/", "https://lms.example/items/7/scores"),
    ("https://lms.example/items?id=7&t=a", "https://lms.example/items/scores?id=7&t=a"),
])
def test_the_scores_url_keeps_the_line_items_query(lineitem, scores):
    assert scores_url(lineitem) == scores
