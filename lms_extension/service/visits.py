"""Visits to a learner's servers by anyone else (an instructor helping, an admin), as the hub
recorded them: ``GET /hub/api/lms/visits?user=<name>`` with the service's own token (its role
holds ``custom:lms:visits``). The service keeps no copy; the hub's record is the only one, and
nothing in a lesson server can change it.

``GET api/visits/<user>``: allowed as for the learner's progress (the learner, an instructor of
one of their cohorts, an admin), checked before the hub is asked anything.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from .auth import ApiHandler


class VisitsUnavailable(Exception):
    """The hub did not give the visits (it is down, or the service's role lacks the scope)."""


async def visits_of(service, user: str) -> list[dict]:
    """The visits to ``user``'s servers, newest first: each ``{"visitor", "server",
    "started", "last_seen", "seconds"}`` (ISO times in UTC; ``server`` is the server's name,
    ``""`` for the default one). Raises :class:`VisitsUnavailable` when the hub does not say."""
    hub = service.hub
    url = f"{hub.api_url}/lms/visits?user={quote(user, safe='')}"
    try:
        response = await AsyncHTTPClient().fetch(
            url, headers={"Authorization": f"token {hub.token}"}, request_timeout=10)
    except (HTTPClientError, OSError) as exc:
        raise VisitsUnavailable(f"the hub did not list the visits of {user}: {exc}") from None
    visits = json.loads(response.body)["visits"]
    keys = ("visitor", "server", "started", "last_seen", "seconds")
    return [{key: visit[key] for key in keys} for visit in visits]


class UserVisitsHandler(ApiHandler):
    async def get(self, user):
        if not await self.viewer.may_see(user, self.service.hub):
            self.forbid(f"the visits to the servers of {user}")
        try:
            visits = await visits_of(self.service, user)
        except VisitsUnavailable as exc:
            raise web.HTTPError(502, str(exc)) from None
        self.send({"user": user, "visits": visits})
