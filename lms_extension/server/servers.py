"""The owner's servers, through the hub's REST API, with this server's own token (whose scopes
the hub limits to the owner's servers): start a lesson that needs another environment as
another named server, follow its start, and report the learner's activity."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

from tornado import web
from tornado.httpclient import HTTPClientError, HTTPRequest

from .http import TokenClient, message_of

_NAME_SAFE = re.compile(r"[^a-z0-9-]")


def server_name_for(environment: str) -> str:
    """The named server a lesson environment runs in (the hub's server-name rules)."""
    return _NAME_SAFE.sub("-", environment.lower())[:60] or "lesson"


def ready_server_for(servers: dict, environment: str, environment_of) -> str | None:
    """The name of a ready server among ``servers`` (a hub user model's ``servers``) that runs
    a lesson of ``environment`` (by ``environment_of(lesson key)``), else None: the rule by
    which a lesson reuses a running server, here and in the hub's lesson links."""
    for name, model in sorted(servers.items()):
        options = model.get("user_options") or {}
        running = options.get("lesson", "")
        if options.get("preview"):  # an editor's preview is never a learner's lesson server
            continue
        if model.get("ready") and running and environment_of(running) == environment:
            return name
    return None


class HubServers:
    def __init__(self, hub: TokenClient, user: str):
        self.hub = hub
        self.user = user

    def _path(self, name: str, suffix: str = "") -> str:
        return f"users/{quote(self.user)}/servers/{quote(name)}{suffix}"

    async def servers(self) -> dict:
        return (await self.hub.get_json(f"users/{quote(self.user)}")).get("servers", {})

    async def model(self, name: str) -> dict | None:
        return (await self.servers()).get(name)

    async def start(self, lesson: str, environment: str, environment_of) -> dict:
        """The learner's server for ``environment``: one that runs a lesson of it (by
        ``environment_of(lesson key)``), else the named server of that environment, started
        with ``lesson``. Returns ``{server_name, url, ready}``."""
        servers = await self.servers()
        ready = ready_server_for(servers, environment, environment_of)
        if ready is not None:
            return {"server_name": ready, "url": servers[ready].get("url", ""), "ready": True}
        name = server_name_for(environment)
        current = servers.get(name)
        if current is None:
            try:
                await self.hub.post_json(self._path(name), {"lesson": lesson}, timeout=60)
            except HTTPClientError as exc:
                raise web.HTTPError(exc.code if exc.code in (400, 403, 503) else 502,
                                    message_of(exc, f"the hub answered {exc.code}")) from None
            current = await self.model(name) or {}
        return {"server_name": name, "url": current.get("url", ""),
                "ready": bool(current.get("ready"))}

    async def report_activity(self, server_name: str) -> str:
        """Tell the hub this server is in use now; return the time reported."""
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        body = {"last_activity": now, "servers": {server_name: {"last_activity": now}}}
        try:
            await self.hub.post_json(f"users/{quote(self.user)}/activity", body)
        except (HTTPClientError, OSError) as exc:
            raise web.HTTPError(502, f"the hub did not take the activity: {exc}") from None
        return now

    def progress_request(self, name: str, on_chunk) -> HTTPRequest:
        return self.hub.request(self._path(name, "/progress"), timeout=600,
                                streaming_callback=on_chunk)
