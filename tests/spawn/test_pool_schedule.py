"""What warm lesson pools keep warm when: the ``LMS_WARM_LESSONS`` setting and class sessions
around a cohort's start, read through the pool's one clock (``LessonPool.utcnow``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from traitlets import TraitError
from traitlets.config import Config

from lms_spawner.lesson_pool import LessonPool
from lms_spawner.pool_schedule import (ScheduleError, load_sessions, parse_sessions,
                                       parse_warm_lessons)

NINE = "2026-12-02T09:00:00+09:00"  # 00:00 UTC


class ClockedPool(LessonPool):
    """The hub's pool with its clock set by the test."""

    now = datetime(2026, 12, 1, tzinfo=UTC)

    def utcnow(self):
        return self.now


def pool(**settings) -> ClockedPool:
    config = Config()
    for key, value in settings.items():
        setattr(config.LessonPool, key, value)
    return ClockedPool(app=None, config=config)


def test_warm_lessons_setting_is_read_and_bad_values_are_named():
    assert parse_warm_lessons(" dl-basics/numpy-basics=3, dl-basics/cnn-digits=1 ,") == \
        {"dl-basics/numpy-basics": 3, "dl-basics/cnn-digits": 1}
    for bad, says in [("numpy-basics=3", "'numpy-basics=3' is not like course/lesson=3"),
                      ("a/b", "'a/b' is not like course/lesson=3"),
                      ("a/b=many", "'many' is not a whole number"),
                      ("a/b=-1", "the count must be 0 or more")]:
        with pytest.raises(ValueError, match="LMS_WARM_LESSONS") as exc:
            parse_warm_lessons(bad)
        assert says in str(exc.value)


def test_a_session_warms_its_lesson_from_before_its_start_until_after_it():
    p = pool(schedule=[{"lesson": "dl-basics/numpy-basics", "start": NINE, "count": 30,
                        "cohort": "fall-a"}], warm_before=900, warm_after=1800)
    start = datetime(2026, 12, 2, tzinfo=UTC)
    for offset, wanted in [(-16 * 60, {}), (-15 * 60, {"dl-basics/numpy-basics": 30}),
                           (0, {"dl-basics/numpy-basics": 30}),
                           (29 * 60, {"dl-basics/numpy-basics": 30}), (30 * 60, {}),
                           (24 * 3600, {})]:
        p.now = start + timedelta(seconds=offset)
        assert p.wanted() == wanted, offset


def test_overlapping_sessions_and_the_setting_keep_the_larger_count():
    p = pool(warm_lessons={"dl-basics/numpy-basics": 2, "dl-basics/python-basics": 1},
             schedule=[{"lesson": "dl-basics/numpy-basics", "start": NINE, "count": 20},
                       {"lesson": "dl-basics/numpy-basics", "start": NINE, "count": 8},
                       {"lesson": "dl-basics/cnn-digits", "start": "2026-12-02T00:10:00Z",
                        "count": 0}])
    p.now = datetime(2026, 12, 2, 0, 5, tzinfo=UTC)
    assert p.wanted() == {"dl-basics/numpy-basics": 20, "dl-basics/python-basics": 1}
    p.now = datetime(2026, 12, 3, tzinfo=UTC)
    assert p.wanted() == {"dl-basics/numpy-basics": 2, "dl-basics/python-basics": 1}


@pytest.mark.parametrize("entry, says", [
    ({"lesson": "numpy", "start": NINE, "count": 1}, "schedule[0].lesson: 'numpy'"),
    ({"lesson": "a/b", "start": "tomorrow", "count": 1}, "schedule[0].start: 'tomorrow'"),
    ({"lesson": "a/b", "start": "2026-12-02T09:00:00", "count": 1},
     "schedule[0].start: '2026-12-02T09:00:00' needs its time zone"),
    ({"lesson": "a/b", "start": NINE, "count": "30"}, "schedule[0].count: '30'"),
    ({"lesson": "a/b", "start": NINE, "count": 1, "room": 4}, "schedule[0].room: unknown"),
    ("a/b", "schedule[0]: must be an object"),
])
def test_a_bad_session_is_refused_naming_its_field(entry, says):
    with pytest.raises(ScheduleError) as exc:
        parse_sessions([entry])
    assert says in str(exc.value)
    with pytest.raises(TraitError, match="schedule"):
        pool(schedule=[entry])


def test_the_schedule_file_is_read_and_its_problems_name_it(tmp_path):
    good = tmp_path / "sessions.json"
    good.write_text(json.dumps([{"lesson": "a/b", "start": NINE, "count": 3}]))
    (session,) = load_sessions(str(good))
    assert (session.lesson, session.count, session.start.utcoffset()) == \
        ("a/b", 3, timedelta(hours=9))
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    with pytest.raises(ScheduleError, match=f"LMS_WARM_SCHEDULE: {bad}"):
        load_sessions(str(bad))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([{"lesson": "a/b", "start": NINE}]))
    with pytest.raises(ScheduleError, match=r"wrong.json\[0\].count"):
        load_sessions(str(wrong))
