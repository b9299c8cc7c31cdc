"""The hub's view of the content repo, shared by every spawner of one hub.

The first spawn waits for the first sync; later spawns use the version in memory while a
background task refreshes it every ``refresh_interval`` seconds, spawns or not, so that new
versions reach the learner repos (and the update notices in JupyterLab) in that time. A broken or unreachable commit
never replaces a good version: the error is logged and the previous version stays live.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import ClassVar

from lms_extension.content.errors import ContentError
from lms_extension.content.redact import redact, redact_url
from lms_extension.content.repo import ContentMirror, ContentVersion, GitError

log = logging.getLogger(__name__)


class ContentUnavailable(RuntimeError):
    """No good content version could be loaded yet."""


class ContentSource:
    """Keeps the newest good :class:`ContentVersion` of one repo + ref."""

    _shared: ClassVar[dict[tuple, ContentSource]] = {}

    @classmethod
    def shared(cls, url: str, ref: str, cache_dir: str, refresh_interval: float) -> ContentSource:
        """One source per (repo, ref, cache) in this process, like the hub's one database."""
        key = (url, ref, cache_dir)
        source = cls._shared.get(key)
        if source is None:
            source = cls._shared[key] = cls(ContentMirror(url, ref, cache_dir), refresh_interval)
        source.refresh_interval = refresh_interval
        return source

    def __init__(self, mirror: ContentMirror, refresh_interval: float):
        self.mirror = mirror
        self.refresh_interval = refresh_interval
        self.version: ContentVersion | None = None
        self.last_error: str = ""
        self._synced_at = 0.0
        self._lock = asyncio.Lock()
        self._refreshing: asyncio.Task | None = None
        self._follower: asyncio.Task | None = None

    @property
    def display_url(self) -> str:
        """The repo URL as messages and logs show it: without its credentials."""
        return redact_url(self.mirror.url)

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval)
            await self.refresh()

    async def refresh(self) -> ContentVersion | None:
        """Sync now (one sync at a time); keep the previous version if this one fails."""
        async with self._lock:
            try:
                version = await asyncio.to_thread(self.mirror.sync)
            except (ContentError, GitError, OSError) as exc:
                self.last_error = redact(str(exc), self.mirror.url)
                log.error("Content %s@%s not updated:\n%s", self.display_url, self.mirror.ref,
                          self.last_error)
            else:
                if self.version is None or version.sha != self.version.sha:
                    log.info("Content version %s of %s is live", version.sha[:12], self.display_url)
                self.version = version
                self.last_error = ""
            self._synced_at = time.monotonic()
        return self.version

    async def current(self) -> ContentVersion:
        """The live version; the first call waits for a sync, later ones refresh in background."""
        if self._follower is None or self._follower.done():
            self._follower = asyncio.create_task(self._follow())
        if self.version is None:
            await self.refresh()
            if self.version is None:
                raise ContentUnavailable(
                    f"course content from {self.display_url} is not available: {self.last_error}"
                )
        elif (
            time.monotonic() - self._synced_at > self.refresh_interval
            and (self._refreshing is None or self._refreshing.done())
        ):
            self._refreshing = asyncio.create_task(self.refresh())
        return self.version
