"""The statements of :func:`.recording.record_batches` on PostgreSQL: one for its reads, one for
its writes.

Every statement waits for the database server's answer before the next one leaves, and on a
busy machine (or a database across the network) each such round trip costs the single writer's
transaction a few milliseconds: the writer's transaction, not the database's work, was what a
learner's request waited for at 2,000 events/s. So a transaction of event batches sends one
statement that reads everything it needs (which event ids are held already, the progress rows
the batches touch, locked, and the stored events of the learners the quota has not counted
yet) and one that writes everything (the new events, the new progress rows, the changed ones,
as data-modifying ``WITH`` queries): with the transaction's ``BEGIN`` and ``COMMIT``, four round
trips whatever the number of batches and learners, where it took eight, and one more for each
learner the quota met for the first time. Each statement takes its rows as
JSON or array parameters and is planned with its real parameters (no server-side prepared
statements, :func:`.db.make_engine`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

PROGRESS_COLUMNS = ("status", "first_opened", "last_activity", "completed_at", "active_seconds",
                    "cells_ok", "errors", "delayed_at")
TIMES = ("first_opened", "last_activity", "completed_at", "delayed_at")
_KEY = ('"user"', "course", "lesson")
_ROW = ", ".join(_KEY + PROGRESS_COLUMNS)
READ = (
    f"WITH locked AS (SELECT {_ROW} FROM progress WHERE ({', '.join(_KEY)}) IN "
    "(SELECT * FROM unnest(%(users)s::varchar[], %(courses)s::varchar[], "
    "%(lessons)s::varchar[])) FOR UPDATE), "
    'stored AS (SELECT "user", count(*) AS n FROM events '
    'WHERE "user" = ANY(%(uncounted)s::varchar[]) GROUP BY "user") '
    "SELECT (SELECT coalesce(array_agg(id), '{}') FROM events "
    "WHERE id = ANY(%(ids)s::varchar[])), "
    "(SELECT coalesce(json_agg(locked), '[]') FROM locked), "
    """(SELECT coalesce(json_object_agg("user", n), '{}') FROM stored)""")
WRITE = (
    'WITH new_events AS (INSERT INTO events (id, "user", course, lesson, kind, at, received_at, '
    'data) SELECT id, "user", course, lesson, kind, at, received_at, data '
    "FROM json_populate_recordset(NULL::events, %(events)s::json)), "
    f"new_rows AS (INSERT INTO progress ({_ROW}) SELECT {_ROW} "
    "FROM json_populate_recordset(NULL::progress, %(new)s::json)), "
    "changed_rows AS (UPDATE progress AS p SET "
    f"{', '.join(f'{c} = r.{c}' for c in PROGRESS_COLUMNS)} "
    "FROM json_populate_recordset(NULL::progress, %(changed)s::json) AS r "
    f"WHERE {' AND '.join(f'p.{k} = r.{k}' for k in _KEY)}) "
    "SELECT 1")


def read(conn: Connection, ids: set[str], keys: set[tuple[str, str, str]], users: list[str]
         ) -> tuple[set[str], dict[tuple[str, str, str], dict[str, Any]], dict[str, int]]:
    """Which of ``ids`` are stored already; the progress rows of ``keys`` (each a dict of
    ``PROGRESS_COLUMNS``), locked until the transaction ends; and how many events each of
    ``users`` has stored."""
    key_users, courses, lessons = ([key[n] for key in keys] for n in range(3))
    held, locked, stored = conn.exec_driver_sql(READ, {
        "users": key_users, "courses": courses, "lessons": lessons, "uncounted": users,
        "ids": list(ids)}).one()
    rows = {}
    for row in locked:
        key = (row.pop("user"), row.pop("course"), row.pop("lesson"))
        for name in TIMES:
            if row[name] is not None:
                row[name] = datetime.fromisoformat(row[name])
        rows[key] = row
    return set(held), rows, {user: stored.get(user, 0) for user in users}


def write(conn: Connection, events: list[tuple], new: list[dict], changed: list[dict]) -> None:
    """Insert the ``events`` rows (in the table's column order, ``data`` already JSON) and the
    ``new`` progress rows, and update the ``changed`` ones (dicts of ``user``, ``course``,
    ``lesson`` and ``PROGRESS_COLUMNS``)."""
    conn.exec_driver_sql(WRITE, {"events": _event_rows(events), "new": _progress_rows(new),
                                 "changed": _progress_rows(changed)})


def _event_rows(events: list[tuple]) -> str:
    """The ``events`` rows as one JSON array of objects, for ``json_populate_recordset``."""
    text: dict[Any, str] = {}
    stamps: dict[datetime, str] = {}

    def quoted(value: str) -> str:
        if value not in text:
            text[value] = json.dumps(value)
        return text[value]

    def stamp(moment: datetime) -> str:
        if moment not in stamps:
            stamps[moment] = json.dumps(moment.isoformat())
        return stamps[moment]

    return "[" + ",".join(
        f'{{"id":{quoted(i)},"user":{quoted(u)},"course":{quoted(c)},'
        f'"lesson":{quoted(lesson)},"kind":{quoted(k)},"at":{stamp(at)},'
        f'"received_at":{stamp(rec)},"data":{data}}}'
        for i, u, c, lesson, k, at, rec, data in events) + "]"


def _progress_rows(rows: list[dict]) -> str:
    return json.dumps(rows, default=_iso)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
