"""The content routes of the API: the live catalog, the follower's status, and syncing now.

``POST api/content/sync`` is for hub admins and for the hub itself: the hub announces each
content version it is about to make live (``{"version": "<commit>"}``, with a token that holds
``custom:lms:content-sync``) and waits for the answer, so the service holds every lesson a
spawn can start (see README, "One content authority").
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from tornado import web

from .auth import ApiHandler
from .payloads import PayloadError, parse

SYNC_SCOPE = "custom:lms:content-sync"


class ContentSyncIn(BaseModel):
    """The body of ``POST api/content/sync`` (optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str | None = Field(default=None, pattern=r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$",
                                description="the commit the hub is about to make live")


class CatalogHandler(ApiHandler):
    async def get(self):
        index = self.service.content.index
        self.send({"version": index.sha or None, **index.data})


class ContentHandler(ApiHandler):
    async def get(self):
        self.send(self.service.content.status())


class ContentSyncHandler(ApiHandler):
    async def may_sync(self) -> bool:
        """Hub admins, and tokens holding ``custom:lms:content-sync`` (the hub's own)."""
        if self.viewer.admin:
            return True
        model = await self.hub_auth.user_for_token(self.hub_auth.get_token(self),
                                                   use_cache=True, sync=False)
        return SYNC_SCOPE in set((model or {}).get("scopes") or [])

    async def post(self):
        if not await self.may_sync():
            raise web.HTTPError(403, "only hub admins and the hub may sync the content")
        announced = None
        if self.request.body.strip():
            try:
                body = parse(ContentSyncIn, self.request.body, self.service.max_body_bytes)
            except PayloadError as exc:
                raise web.HTTPError(400, str(exc)) from None
            announced = body.version
        self.send(await self.service.sync_content(announced))
