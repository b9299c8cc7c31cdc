"""The content versions an admin looks at: every published version (the live one first) and
every refused commit with the validator's lines (``file:line: field: message``), kept in the
database so that they outlive the service's restarts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import ContentRefusal, ContentVersion

_COMMIT = re.compile(r"^([0-9a-f]{7,64}):")
REFUSALS_KEPT = 50


def as_utc(value: datetime | None) -> datetime | None:
    """Datetimes from SQLite come back naive; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def refused_commit(lines: list[str]) -> str | None:
    """The commit a refusal's lines are about (each starts with its abbreviated id)."""
    for line in lines:
        match = _COMMIT.match(line)
        if match:
            return match.group(1)
    return None


def record_refusal(session: Session, lines: list[str], now: datetime) -> None:
    """Keep a refused commit's lines (those of a git error, which names no commit, are not)."""
    commit = refused_commit(lines)
    if commit is None:
        return
    row = session.get(ContentRefusal, commit)
    if row is None:
        session.add(ContentRefusal(commit=commit, first_refused_at=now, last_refused_at=now,
                                   lines=list(lines)))
    else:
        row.last_refused_at, row.lines = now, list(lines)
    old = list(session.scalars(select(ContentRefusal.commit)
                               .order_by(ContentRefusal.last_refused_at.desc())
                               .offset(REFUSALS_KEPT)))
    for commit in old:
        session.delete(session.get(ContentRefusal, commit))


def content_history(session: Session, live: str | None) -> dict:
    versions = session.execute(select(ContentVersion.sha, ContentVersion.published_at)
                               .order_by(ContentVersion.published_at.desc())).all()
    refusals = session.scalars(select(ContentRefusal)
                               .order_by(ContentRefusal.last_refused_at.desc())).all()
    return {
        "live": live,
        "versions": [{"sha": sha, "published_at": as_utc(at), "live": sha == live}
                     for sha, at in versions],
        "refused": [{"commit": r.commit, "first_refused_at": as_utc(r.first_refused_at),
                     "last_refused_at": as_utc(r.last_refused_at), "lines": r.lines}
                    for r in refusals],
    }
