"""What warm lesson pools keep warm: ``warm_lessons`` (``LMS_WARM_LESSONS``) and class sessions.

A lesson is kept warm around the time a cohort starts it.
A session is ``{"lesson": "course/lesson", "start": "2026-12-02T09:00:00+09:00", "count": 30,
"cohort": "fall-a"}`` (``cohort`` is a label for people). From ``warm_before`` seconds before
its start until ``warm_after`` seconds after it, the pool keeps ``count`` servers of the lesson
waiting (the larger count when sessions or ``warm_lessons`` overlap); once the session is over
the lesson leaves the schedule and its waiting servers are removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta


class ScheduleError(ValueError):
    """A session that cannot be read; the message names the entry and the field."""


@dataclass(frozen=True)
class Session:
    lesson: str
    start: datetime
    count: int
    cohort: str = ""

    def as_dict(self) -> dict:
        return {"lesson": self.lesson, "start": self.start.isoformat(), "count": self.count,
                "cohort": self.cohort}


def parse_warm_lessons(text: str, setting: str = "LMS_WARM_LESSONS") -> dict[str, int]:
    """``"course/lesson=3,course/other=1"`` as a dict; ValueError naming ``setting``."""
    lessons: dict[str, int] = {}
    for item in (part.strip() for part in (text or "").split(",")):
        if not item:
            continue
        key, sep, count = item.partition("=")
        key = key.strip()
        if not sep or key.count("/") != 1 or not all(key.split("/")):
            raise ValueError(f"{setting}: {item!r} is not like course/lesson=3")
        try:
            lessons[key] = int(count)
        except ValueError:
            raise ValueError(f"{setting}: {item!r}: {count.strip()!r} is not a whole number") \
                from None
        if lessons[key] < 0:
            raise ValueError(f"{setting}: {item!r}: the count must be 0 or more")
    return lessons


def parse_sessions(entries, where: str = "schedule") -> list[Session]:
    """Sessions from a list of dicts; ScheduleError naming ``where[i].field`` otherwise."""
    if not isinstance(entries, list):
        raise ScheduleError(f"{where}: must be a list of sessions like {{\"lesson\": "
                            "\"course/lesson\", \"start\": \"2026-12-02T09:00:00+09:00\", "
                            "\"count\": 30}")
    sessions = []
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise ScheduleError(f"{at}: must be an object with lesson, start and count")
        unknown = sorted(set(entry) - {"lesson", "start", "count", "cohort"})
        if unknown:
            raise ScheduleError(f"{at}.{unknown[0]}: unknown field (lesson, start, count, "
                                "cohort)")
        lesson = entry.get("lesson")
        if not isinstance(lesson, str) or lesson.count("/") != 1 or not all(lesson.split("/")):
            raise ScheduleError(f"{at}.lesson: {lesson!r} is not like course/lesson")
        try:
            start = datetime.fromisoformat(str(entry.get("start", "")))
        except ValueError:
            raise ScheduleError(f"{at}.start: {entry.get('start')!r} is not a date and time "
                                "like 2026-12-02T09:00:00+09:00") from None
        if start.tzinfo is None:
            raise ScheduleError(f"{at}.start: {entry['start']!r} needs its time zone "
                                "(+09:00, Z)")
        count = entry.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ScheduleError(f"{at}.count: {count!r} is not a whole number of 0 or more")
        cohort = entry.get("cohort", "")
        if not isinstance(cohort, str):
            raise ScheduleError(f"{at}.cohort: must be text")
        sessions.append(Session(lesson, start, count, cohort))
    return sessions


def load_sessions(path: str) -> list[Session]:
    """The sessions of a JSON file (``LMS_WARM_SCHEDULE``); ScheduleError naming the file."""
    try:
        with open(path) as f:
            entries = json.load(f)
    except (OSError, ValueError) as exc:
        raise ScheduleError(f"LMS_WARM_SCHEDULE: {path}: {exc}") from None
    return parse_sessions(entries, f"LMS_WARM_SCHEDULE {path}")


def scheduled_counts(sessions: list[Session], now: datetime, before: float,
                     after: float) -> dict[str, int]:
    """The lessons to keep warm at ``now`` and how many servers each, from the sessions whose
    window (``before`` seconds before the start to ``after`` seconds after it) holds ``now``."""
    counts: dict[str, int] = {}
    for session in sessions:
        opens = session.start - timedelta(seconds=before)
        closes = session.start + timedelta(seconds=after)
        if opens <= now < closes and session.count:
            counts[session.lesson] = max(counts.get(session.lesson, 0), session.count)
    return counts


def merged(*counts: dict[str, int]) -> dict[str, int]:
    """Lesson counts from several sources: the larger count of each lesson."""
    out: dict[str, int] = {}
    for source in counts:
        for lesson, n in source.items():
            out[lesson] = max(out.get(lesson, 0), n)
    return out
