"""Access notices: who other than the owner (an instructor helping, an admin) opened the owner's
servers, when and for how long. The hub records every such visit in its own database when it lets
the visitor in (``GET /hub/api/lms/visits``); this server only reads that record, with its own
token, so nothing in the learner's home (which a visitor could change) is the record."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from .http import TokenClient


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class HubVisits:
    def __init__(self, hub: TokenClient, owner: str):
        self.hub = hub
        self.owner = owner

    async def records(self) -> list[dict]:
        """The visits, oldest first: ``who``, ``server``, ``at`` and ``last_seen`` (seconds
        since the epoch) and ``seconds`` (how long). Raises what :class:`TokenClient` raises
        when the hub does not answer."""
        if not self.hub or not self.owner:
            return []
        answer = await self.hub.get_json(f"lms/visits?user={quote(self.owner, safe='')}")
        return [{"who": v["visitor"], "server": v["server"], "at": _epoch(v["started"]),
                 "last_seen": _epoch(v["last_seen"]), "seconds": v["seconds"]}
                for v in reversed(answer["visits"])]
