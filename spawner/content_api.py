"""``GET /hub/api/lms/content`` and ``POST /hub/api/lms/content/sync``: the hub's content
follower, for hub admins (the live version, the last refused commit with the validator's lines,
what the LMS service said when it was told of the version) and syncing now.

Allowed: a hub admin's own login or token (one that holds ``custom:lms:admin``: never a lesson
server's token, so code in an admin's lesson server cannot use it) or a service whose role
grants that scope, as in the LMS service; for the sync also a
token holding ``custom:lms:content-sync`` (the LMS service's, which asks the hub to sync when it
has made a new version live by itself). Registered by ``hub_config/jupyterhub_config.py``
through ``JupyterHub.extra_handlers``.
"""

from __future__ import annotations

import json

from jupyterhub.apihandlers.base import APIHandler
from tornado import web

from .content_source import ContentSource

ADMIN_SCOPE = "custom:lms:admin"
SYNC_SCOPE = "custom:lms:content-sync"


class _ContentHandler(APIHandler):
    def check_caller(self, *allowing: str) -> None:
        user = self.current_user
        if user is None:
            raise web.HTTPError(403, "a hub token or login is needed")
        scopes = set(self.expanded_scopes)
        # as in the LMS service: a hub admin, or a service whose role grants the scope
        owner_is_admin = getattr(user, "kind", "user") == "service" or getattr(user, "admin",
                                                                                False)
        if owner_is_admin and ADMIN_SCOPE in scopes:
            return
        if scopes & set(allowing):
            return
        raise web.HTTPError(403, "only hub admins may see or sync the hub's course content")

    def sources(self) -> list[ContentSource]:
        """The content sources of this hub: the caller's lesson spawner's (made if no spawn
        has made it yet), and any other one a spawner follows."""
        spawner = getattr(self.current_user, "spawner", None)  # services have none
        if getattr(spawner, "content_repo", ""):
            spawner.content.follow()
        return ContentSource.instances()

    def send(self, data: dict) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def status(self, sources: list[ContentSource]) -> dict:
        if not sources:
            return {"version": None, "refused": [], "following": False}
        return {**sources[0].status(), "following": True}


class ContentStatusHandler(_ContentHandler):
    async def get(self):
        self.check_caller()
        self.send(self.status(self.sources()))


class ContentSyncHandler(_ContentHandler):
    async def post(self):
        self.check_caller(SYNC_SCOPE)
        sources = self.sources()
        for source in sources:
            await source.refresh()
        self.send(self.status(sources))


handlers = [
    (r"/api/lms/content", ContentStatusHandler),
    (r"/api/lms/content/sync", ContentSyncHandler),
]
