"""Bad input that names its field: one error class for the staff API (HTTP 400 with ``field``)
and the staff pages (the message shown under the form field), and the parsing both share."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tornado import web

COHORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
INSTRUCTORS_SUFFIX = "-instructors"
MAX_NAMES = 200  # user names in one add


class FieldError(web.HTTPError):
    """HTTP 400 whose message starts with the field it is about (``user: …``). ``text`` is
    English with ``{name}`` fields filled from ``values``; pages show it translated."""

    def __init__(self, field: str, text: str, status: int = 400, **values):
        self.field = field
        self.text = text
        self.values = values
        self.message = text.format(**values) if values else text
        super().__init__(status, "%s: %s", field, self.message)


def parse_start(text: str) -> datetime:
    """A cohort's start: a date (midnight UTC) or a date-time with a time zone."""
    text = (text or "").strip()
    if not text:
        raise FieldError("start", "a date or a date-time is needed")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            raise FieldError("start", "'{value}' is not a date", value=text) from None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise FieldError("start", "'{value}' is not a date (2026-03-02) or a date-time with a "
                                  "time zone (2026-03-02T09:00+09:00)", value=text) from None
    if value.tzinfo is None:
        raise FieldError("start", "'{value}' must carry a time zone (e.g. "
                                  "2026-03-02T09:00+09:00 or …Z)", value=text)
    return value.astimezone(UTC)  # stored as UTC: SQLite keeps no zone


def parse_days(text) -> float:
    """Extra days: a number from 0 to 365 (fractions allowed, e.g. 0.5)."""
    try:
        days = float(str(text).strip())
    except ValueError:
        raise FieldError("days", "'{value}' is not a number of days", value=text) from None
    if not 0 <= days <= 365 or days != days:
        raise FieldError("days", "must be from 0 to 365")
    return days


def check_cohort_name(name: str) -> str:
    name = (name or "").strip()
    if not COHORT_NAME.match(name):
        raise FieldError("group", "'{value}' is not a group name (letters, digits, '.', '_', "
                                  "'-'; at most 100; starting with a letter or digit)",
                         value=name)
    if name.endswith(INSTRUCTORS_SUFFIX):
        raise FieldError("group", "'{value}': names ending in -instructors are the "
                                  "instructor groups of cohorts", value=name)
    return name


def split_names(text: str) -> list[str]:
    """User names from a form field: separated by commas, spaces or new lines."""
    names = [n for n in re.split(r"[\s,]+", text or "") if n]
    if not names:
        raise FieldError("users", "name at least one user")
    if len(names) > MAX_NAMES:
        raise FieldError("users", "at most {count} names at once", count=MAX_NAMES)
    return list(dict.fromkeys(names))
