"""Visits to lesson servers, recorded by the hub: who other than the owner opened a server, when,
and until when they were seen.

A browser gets into a user's server through the hub's OAuth: the server's OAuth client
(``jupyterhub-user-<owner>[-<server>]``) sends the visitor to the hub, which issues a token for
that client to whoever is logged in, once the hub has checked that they may access the server
(an admin, an instructor of the owner's cohort). Each such token issued to anyone but the owner
becomes a row of the hub's own table ``lms_server_visits`` (owner, server, visitor, started,
last seen), written in the same database transaction as the token. The row's ``last_seen``
follows the token's ``last_activity``: the hub records a token's use at most every
``JupyterHub.activity_resolution`` seconds (30), and a lesson server asks the hub about a
visitor's token at most every ``HubOAuth.cache_max_age`` seconds (``LMS_SERVER_AUTH_CACHE``,
30), so ``last_seen`` is within about a minute of the visitor's last request. The row has no
link to the token: a visitor who deletes their tokens (or whose token expires) leaves it as it
was. Nothing in a lesson server can write it.

``GET /hub/api/lms/visits?user=<owner>`` lists a user's visits, newest first: for the owner
(any of their tokens, their lesson servers' too), hub admins (a token holding
``custom:lms:admin``, as for the hub's content API) and tokens holding ``custom:lms:visits``
(the LMS service's; a filter such as ``!group=<cohort>`` limits it to those users).
Registered by ``hub_config/jupyterhub_config.py``: :func:`record_visits` and :data:`handlers`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from jupyterhub import orm
from jupyterhub.apihandlers.base import APIHandler
from sqlalchemy import (Column, DateTime, Integer, MetaData, Table, Unicode, event, select,
                        update)
from tornado import web

ADMIN_SCOPE = "custom:lms:admin"
VISITS_SCOPE = "custom:lms:visits"
MAX_LIMIT = 1000

visits_table = Table(
    "lms_server_visits",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", Unicode(255), nullable=False, index=True),
    Column("server_name", Unicode(255), nullable=False, default=""),
    Column("visitor", Unicode(255), nullable=False),
    # the token the visit was made with; no foreign key: its deletion leaves the row alone
    Column("token_id", Integer, index=True),
    Column("started", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
)


def ensure_table(bind) -> None:
    """Create ``lms_server_visits`` in the hub's database when it is missing (SQLite or
    PostgreSQL; an engine or a connection)."""
    visits_table.create(bind, checkfirst=True)


def _naive_utc(when: datetime | None) -> datetime:
    if when is None:
        return datetime.now(timezone.utc).replace(tzinfo=None)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when


def _iso(when: datetime) -> str:
    return when.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


# -- recording: SQLAlchemy events on the hub's tokens ------------------------------------------


def _visited_server(connection, token) -> tuple[str, str] | None:
    """(owner, server name) when ``token`` is a user's OAuth token for a server of another
    user, else None."""
    client = token.client_id
    if not client or not client.startswith("jupyterhub-user-") or token.user_id is None:
        return None
    spawners = orm.Spawner.__table__
    users = orm.User.__table__
    row = connection.execute(
        select(spawners.c.user_id, spawners.c.name).where(spawners.c.oauth_client_id == client)
    ).first()
    if row is None or row.user_id == token.user_id:
        return None
    names = dict(connection.execute(
        select(users.c.id, users.c.name).where(users.c.id.in_([row.user_id, token.user_id]))
    ).all())
    if row.user_id not in names:
        return None
    return names[row.user_id], row.name or ""


def _token_inserted(mapper, connection, token) -> None:
    visited = _visited_server(connection, token)
    if visited is None:
        return
    owner, server = visited
    visitor = connection.execute(
        select(orm.User.__table__.c.name).where(orm.User.__table__.c.id == token.user_id)
    ).scalar_one()
    started = _naive_utc(token.created)
    ensure_table(connection)
    connection.execute(visits_table.insert().values(
        owner=owner, server_name=server, visitor=visitor, token_id=token.id,
        started=started, last_seen=_naive_utc(token.last_activity or started)))


def _token_used(mapper, connection, token) -> None:
    if not (token.client_id or "").startswith("jupyterhub-user-") or token.last_activity is None:
        return
    seen = _naive_utc(token.last_activity)
    connection.execute(
        update(visits_table)
        .where(visits_table.c.token_id == token.id, visits_table.c.last_seen < seen)
        .values(last_seen=seen))


def record_visits() -> None:
    """Record visits from now on in this process (idempotent)."""
    for name, listener in (("after_insert", _token_inserted), ("after_update", _token_used),
                           ("before_delete", _token_used)):
        if not event.contains(orm.APIToken, name, listener):
            event.listen(orm.APIToken, name, listener)


def visits_of(db, owner: str, limit: int = 200) -> list[dict]:
    """The visits to ``owner``'s servers, newest first."""
    rows = db.execute(
        select(visits_table).where(visits_table.c.owner == owner)
        .order_by(visits_table.c.started.desc(), visits_table.c.id.desc()).limit(limit)
    ).all()
    return [{
        "visitor": row.visitor, "server": row.server_name, "started": _iso(row.started),
        "last_seen": _iso(row.last_seen),
        "seconds": max(0, round((row.last_seen - row.started).total_seconds())),
    } for row in rows]


# -- GET /hub/api/lms/visits?user=<owner> ------------------------------------------------------


class VisitsHandler(APIHandler):
    def check_caller(self, owner: str) -> None:
        user = self.current_user
        if user is None:
            raise web.HTTPError(403, "a hub token or login is needed")
        if getattr(user, "kind", "user") == "user" and user.name == owner:
            return
        owner_is_admin = getattr(user, "kind", "user") == "service" or getattr(user, "admin",
                                                                                False)
        if owner_is_admin and ADMIN_SCOPE in self.expanded_scopes:
            return
        if self.has_scope(f"{VISITS_SCOPE}!user={owner}"):
            return
        raise web.HTTPError(403, f"only {owner}, hub admins and the LMS service may see the "
                                 f"visits to {owner}'s servers")

    async def get(self):
        owner = self.get_argument("user", "")
        if not owner:
            raise web.HTTPError(400, "user: the owner's name is needed (?user=<name>)")
        self.check_caller(owner)
        raw_limit = self.get_argument("limit", "200")
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise web.HTTPError(400, f"limit: {raw_limit!r} is not a number from 1 to "
                                     f"{MAX_LIMIT}")
        ensure_table(self.db.get_bind())
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"user": owner, "visits": visits_of(self.db, owner, limit)}))


handlers = [(r"/api/lms/visits", VisitsHandler)]
