"""Lesson due dates: the one parser of ``due`` in ``course.yaml``.

``due`` is an offset from a cohort's start (``7d``, ``12h``, ``2w``), an ISO date (the end of
that day, 23:59:59 UTC) or an ISO date-time with a time zone (``2027-03-01T09:00:00+09:00``, that
moment). Offsets are at most :data:`MAX_OFFSET_DAYS` days and dates lie between
:data:`FIRST_DATE` and :data:`LAST_DATE`, so a due date can always be computed and compared.
The validator refuses anything else (:func:`parse_due`); the LMS service computes due dates with
:func:`due_at`, which never raises, also for content published before these ranges were checked.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

MAX_OFFSET_DAYS = 3650  # ten years
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2199, 12, 31)
_OFFSET = re.compile(r"([0-9]+)([dhw])", re.ASCII)
_UNITS = {"d": "days", "h": "hours", "w": "weeks"}
_MAX_DIGITS = 7  # more digits than this is more than ten years in any unit


def parse_due(value: str) -> timedelta | date | datetime:
    """``value`` as an offset (:class:`timedelta`), a date or an aware date-time; ``ValueError``
    names the problem."""
    match = _OFFSET.fullmatch(value)
    if match:
        digits, unit = match.groups()
        limit = timedelta(days=MAX_OFFSET_DAYS)
        if len(digits.lstrip("0")) > _MAX_DIGITS:
            offset = limit + timedelta(days=1)
        else:
            offset = timedelta(**{_UNITS[unit]: int(digits)})
        if offset > limit:
            raise ValueError(f"{value!r} is more than {MAX_OFFSET_DAYS} days (ten years) after "
                             "the cohort's start")
        return offset
    parsed: date | datetime
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value) if "T" in value or " " in value else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValueError(f"{value!r} is neither an offset like 7d, 12h, 2w nor an ISO date "
                             "(2027-03-01) or date-time with a time zone "
                             "(2027-03-01T09:00:00+09:00)") from None
        if parsed.utcoffset() is None:
            raise ValueError(f"{value!r} has no time zone: add one (2027-03-01T09:00:00+09:00 "
                             "or …Z for UTC), or give a date alone (the end of that day, UTC)")
    day = parsed.date() if isinstance(parsed, datetime) else parsed
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"{value!r} is not between {FIRST_DATE} and {LAST_DATE}")
    return parsed


def due_at(start: datetime, due: str) -> datetime | None:
    """The due date of a lesson with ``due`` for a cohort that started at ``start``: the offset
    after ``start``, the end of the ISO date (UTC) or the date-time given. None when ``due`` is
    out of range or unreadable (the validator refuses such content) or the date is past what a
    datetime holds."""
    try:
        parsed = parse_due(due)
    except (ValueError, TypeError):
        return None
    if isinstance(parsed, timedelta):
        try:
            return start + parsed
        except OverflowError:
            return None
    if isinstance(parsed, datetime):
        return parsed.astimezone(UTC)
    return datetime.combine(parsed, time.max, tzinfo=UTC)


def add_days(moment: datetime, days: float) -> datetime:
    """``moment`` plus ``days``, held at the last datetime there is rather than overflowing."""
    try:
        return moment + timedelta(days=days)
    except OverflowError:
        return datetime.max.replace(tzinfo=moment.tzinfo)
