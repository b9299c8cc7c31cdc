"""Due dates: the one parser of ``due`` keeps offsets and dates in range, and computing a due
date never raises, whatever a content version or a cohort's start holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from lms_extension.content.due import add_days, due_at, parse_due

START = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.mark.parametrize("value, parsed", [
    ("0d", timedelta(0)), ("3650d", timedelta(days=3650)), ("521w", timedelta(weeks=521)),
    ("87600h", timedelta(hours=87600)), ("0003650d", timedelta(days=3650)),
    ("2000-01-01", date(2000, 1, 1)), ("2199-12-31", date(2199, 12, 31)),
])
def test_in_range(value, parsed):
    assert parse_due(value) == parsed


@pytest.mark.parametrize("value, message", [
    ("3651d", "'3651d' is more than 3650 days (ten years) after the cohort's start"),
    ("522w", "'522w' is more than 3650 days"),
    ("87601h", "'87601h' is more than 3650 days"),
    ("99999999d", "'99999999d' is more than 3650 days"),
    ("9" * 5000 + "d", "is more than 3650 days"),
    ("1999-12-31", "'1999-12-31' is not between 2000-01-01 and 2199-12-31"),
    ("9999-12-31", "'9999-12-31' is not between 2000-01-01 and 2199-12-31"),
    ("٧d", "'٧d' is neither an offset like 7d, 12h, 2w nor an ISO date"),
    ("7 d", "'7 d' is neither"),
])
def test_out_of_range_or_unreadable(value, message):
    with pytest.raises(ValueError, match=message[:30].replace("(", r"\(")):
        parse_due(value)


def test_due_at_never_raises():
    assert due_at(START, "7d") == START + timedelta(days=7)
    assert due_at(START, "2027-01-31") == datetime(2027, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
    # published before ranges were checked: no due date rather than an OverflowError
    assert due_at(START, "99999999d") is None
    assert due_at(START, "9" * 5000 + "d") is None
    # a cohort that starts at the end of the calendar
    assert due_at(datetime(9999, 12, 30, tzinfo=UTC), "7d") is None
    assert add_days(datetime(9999, 12, 30, tzinfo=UTC), 365) == datetime.max.replace(tzinfo=UTC)
    assert add_days(START, 2.5) == START + timedelta(days=2.5)
