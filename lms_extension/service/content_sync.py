"""When the service syncs the content repo: one sync at a time, shared by everyone who asks,
and the service's half of the one content authority (see README, "One content authority").

- The hub announces each version it is about to make live (``POST api/content/sync`` with
  ``{"version": …}``): a version live here already is answered at once, else it is fetched.
- A version that a sync of the service's own makes live (its timer, the webhook, an admin), and
  that the hub did not announce, is announced back: the service asks the hub to sync
  (``LmsService.hub_content_sync_url``).
- An event batch naming a lesson the live version lacks makes one sync before the events are
  refused (at most once per ``LmsService.unknown_lesson_sync_interval``).
"""

from __future__ import annotations

import asyncio
import json
import os
from time import monotonic

from tornado.httpclient import AsyncHTTPClient, HTTPRequest


class ContentSync:
    """The syncs of one :class:`~.app.LmsService` (its ``content`` follower does the work)."""

    def __init__(self, service):
        self.service = service
        self._running: asyncio.Task | None = None
        self._next: asyncio.Future | None = None
        self._unknown_sync_at = float("-inf")  # when an unknown lesson last made a sync
        self._announced: str | None = None  # the version the hub announced last

    @property
    def log(self):
        return self.service.log

    async def sync(self, announced: str | None = None) -> dict:
        """Sync the content repo, one sync at a time (never two git fetches into the mirror at
        once). A caller that comes while a sync runs gets the next one, which starts when the
        running one ends and is shared by everyone who asked meanwhile: a push during a sync
        is not missed, and a burst of webhooks makes two syncs, not one each.

        ``announced``: the version the hub is about to make live; when it is live here
        already, nothing is fetched."""
        content = self.service.content
        if announced is not None:
            self._announced = announced
            if announced == content.index.sha:
                return content.status()
        if self._next is None:
            self._next = asyncio.ensure_future(self._after(self._running))
        return await asyncio.shield(self._next)

    async def _after(self, running: asyncio.Task | None) -> dict:
        if running is not None:
            await asyncio.wait([running])
        me = asyncio.current_task()
        self._running, self._next = me, None
        try:
            return await self._once()
        finally:
            if self._running is me:
                self._running = None

    async def _once(self) -> dict:
        content = self.service.content
        before = content.index.sha
        now = self.service.utcnow()
        status = await self.service.run_db(lambda s: content.sync(s, now))
        if status["refused"]:
            self.log.warning("content not published:\n  %s", "\n  ".join(status["refused"]))
        live = status["version"]
        self.service.search.refresh()  # a new live version: its search index, off the loop
        if live and live != before:
            self.log.info("content version %s is live", live[:12])
            if live != self._announced:
                asyncio.ensure_future(self._ask_hub(live))
        return status

    async def know_lessons(self, keys: set[tuple[str, str]]) -> None:
        """Before events for lessons the live version does not hold (``(course, lesson)``
        pairs) are refused: sync once, in case the hub published a newer version a moment ago
        (at most once per ``unknown_lesson_sync_interval``; otherwise a sync under way is
        waited for)."""
        index = self.service.content.index
        if all(index.lesson(*key) is not None for key in keys):
            return
        interval = self.service.unknown_lesson_sync_interval
        if interval <= 0:
            return
        pending = self._next or self._running
        if monotonic() - self._unknown_sync_at >= interval:
            self._unknown_sync_at = monotonic()
            await self.sync()
        elif pending is not None:
            await asyncio.wait([pending])

    async def _ask_hub(self, sha: str) -> None:
        """Ask the hub to sync, after a sync of the service's own made ``sha`` live."""
        url = self.service.hub_content_sync_url
        if not url:
            return
        request = HTTPRequest(
            url, method="POST", body=json.dumps({"version": sha}), request_timeout=120,
            headers={"Authorization": f"token {os.environ.get('JUPYTERHUB_API_TOKEN', '')}",
                     "Content-Type": "application/json"})
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except Exception as exc:  # the hub is down or restarting: it syncs on its own timer
            self.log.warning("the hub was not asked to sync content version %s: %s", sha[:12],
                             exc)
            return
        if response.code != 200:
            body = (response.body or b"")[:300].decode("utf-8", "replace")
            self.log.warning("the hub did not sync content version %s: HTTP %s %s", sha[:12],
                             response.code, body)
