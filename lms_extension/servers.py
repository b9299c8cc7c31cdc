"""Start a lesson that needs another environment as another named server of the learner.

``POST /lms/api/servers`` with ``{"lesson": "<course>/<lesson>"}`` finds the learner's server
that already runs a lesson of the same environment, or asks the hub (with this server's own
token, whose scopes the hub limits to the owner's servers) to start the named server of that
environment with the lesson; ``GET /lms/api/servers/<name>/progress`` passes the hub's
start-progress event stream through to JupyterLab. ``POST /lms/api/activity`` tells the hub at
once that the learner is active here (the learner chose *Keep working* when warned that the idle
server is about to be stopped), rather than at the next periodic activity report.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import quote

from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

MAX_BODY = 4096
_NAME_SAFE = re.compile(r"[^a-z0-9-]")
_LESSON = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}/[a-z0-9][a-z0-9-]{0,62}$")


def server_name_for(environment: str) -> str:
    """The named server a lesson environment runs in (the hub's server-name rules)."""
    return _NAME_SAFE.sub("-", environment.lower())[:60] or "lesson"


class HubServers:
    """The owner's servers, through the hub's REST API."""

    def __init__(self, api_url: str, token: str, user: str):
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.user = user

    def _url(self, name: str, suffix: str = "") -> str:
        return f"{self.api_url}/users/{quote(self.user)}/servers/{quote(name)}{suffix}"

    def _headers(self) -> dict:
        return {"Authorization": f"token {self.token}"}

    async def servers(self) -> dict:
        response = await AsyncHTTPClient().fetch(
            f"{self.api_url}/users/{quote(self.user)}", headers=self._headers(), request_timeout=10)
        return json.loads(response.body).get("servers", {})

    async def model(self, name: str) -> dict | None:
        return (await self.servers()).get(name)

    async def start(self, lesson: str, environment: str, environment_of) -> dict:
        """The learner's server for ``environment``: one that runs a lesson of it (by
        ``environment_of(lesson key)``), else the named server of that environment, started
        with ``lesson``. Returns ``{server_name, url, ready}``."""
        servers = await self.servers()
        for name, model in sorted(servers.items()):
            running = (model.get("user_options") or {}).get("lesson", "")
            if model.get("ready") and running and environment_of(running) == environment:
                return {"server_name": name, "url": model.get("url", ""), "ready": True}
        name = server_name_for(environment)
        current = servers.get(name)
        if current is None:
            try:
                await AsyncHTTPClient().fetch(
                    self._url(name), method="POST", headers=self._headers(), request_timeout=60,
                    body=json.dumps({"lesson": lesson}))
            except HTTPClientError as exc:
                raise web.HTTPError(exc.code if exc.code in (400, 403, 503) else 502,
                                    _hub_message(exc)) from None
            current = await self.model(name) or {}
        return {"server_name": name, "url": current.get("url", ""),
                "ready": bool(current.get("ready"))}

    async def report_activity(self, server_name: str) -> str:
        """Tell the hub this server is in use now; return the time reported."""
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        body = {"last_activity": now, "servers": {server_name: {"last_activity": now}}}
        try:
            await AsyncHTTPClient().fetch(
                f"{self.api_url}/users/{quote(self.user)}/activity", method="POST",
                headers=self._headers(), body=json.dumps(body), request_timeout=10)
        except (HTTPClientError, OSError) as exc:
            raise web.HTTPError(502, f"the hub did not take the activity: {exc}") from None
        return now

    def progress_request(self, name: str, on_chunk) -> HTTPRequest:
        return HTTPRequest(self._url(name, "/progress"), headers=self._headers(),
                           streaming_callback=on_chunk, request_timeout=600)


def _hub_message(exc: HTTPClientError) -> str:
    try:
        return json.loads(exc.response.body)["message"]
    except Exception:  # noqa: BLE001 - no JSON from the hub: say what happened
        return f"the hub answered {exc.code}"


class ServersHandler(APIHandler):
    """Start the named server for a lesson in another environment."""

    @web.authenticated
    async def post(self):
        if len(self.request.body) > MAX_BODY:
            raise web.HTTPError(400, f"body: more than {MAX_BODY} bytes")
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "body: not JSON") from None
        lesson = body.get("lesson") if isinstance(body, dict) else None
        if not isinstance(lesson, str) or not _LESSON.match(lesson):
            raise web.HTTPError(400, "lesson: must be '<course>/<lesson>'")
        outline = await self.settings["lms_outline"].get()
        environments = {f"{c['slug']}/{l['slug']}": l["environment"]
                        for c in outline.get("courses", []) for l in c["lessons"]}
        if lesson not in environments:
            raise web.HTTPError(400, f"lesson: {lesson!r} is not in the course outline")
        servers: HubServers = self.settings["lms_servers"]
        self.finish(json.dumps(await servers.start(lesson, environments[lesson],
                                                   environments.get)))


class ActivityHandler(APIHandler):
    """The learner is here: the hub hears it now, so the idle culler leaves this server be."""

    @web.authenticated
    async def post(self):
        servers: HubServers = self.settings["lms_servers"]
        at = await servers.report_activity(self.settings["lms"].get("server_name", ""))
        self.finish(json.dumps({"last_activity": at}))


class ServerProgressHandler(APIHandler):
    """The hub's start progress of one of the owner's servers, as server-sent events."""

    @web.authenticated
    async def get(self, name):
        servers: HubServers = self.settings["lms_servers"]
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")

        def relay(chunk: bytes) -> None:
            self.write(chunk)
            self.flush()

        try:
            await AsyncHTTPClient().fetch(servers.progress_request(name, relay))
        except HTTPClientError as exc:
            failed = {"failed": True, "message": _hub_message(exc)}
            self.write(f"data: {json.dumps(failed)}\n\n")
        self.finish()
