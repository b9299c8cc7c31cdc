"""The hub's view of the content repo, shared by every spawner of one hub.

A background task syncs the repo every ``refresh_interval`` seconds, spawns or not, so that new
versions reach the learner repos (and the update notices in JupyterLab) in that time; the first
spawn starts it and waits for the first sync. A commit that cannot be fetched, exported, read or
published, for whatever reason, never replaces a good version: it is refused with the
validator's lines (credentials masked), logged, kept for admins (``GET /hub/api/lms/content``),
and the previous version stays live; the task keeps following.

While no version is live yet (a fresh hub whose first commit is broken), spawns are answered
with :class:`ContentUnavailable` (HTTP 503) and start at most one sync every
``unavailable_retry_interval`` seconds between them, never one each.

One content authority: before a new version goes live here, the hub tells the LMS service
(``lms_sync_url``, with its own token) and waits for its answer, so the service knows every
lesson that a spawn can start before any learner's event for it arrives.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import ClassVar

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from traitlets import Float, Unicode
from traitlets.config import Application, LoggingConfigurable

from lms_extension.content.errors import ContentError
from lms_extension.content.git import GitError
from lms_extension.content.redact import redact, redact_url
from lms_extension.content.repo import ContentMirror, ContentVersion


class ContentUnavailable(RuntimeError):
    """No good content version could be loaded yet."""


def _hub_config():
    """The hub's configuration (``c.ContentSource.*``), when running in a hub."""
    return Application.instance().config if Application.initialized() else None


class ContentSource(LoggingConfigurable):
    """Keeps the newest good :class:`ContentVersion` of one repo + ref."""

    lms_sync_url = Unicode(
        "",
        help="""URL of the LMS service's ``api/content/sync``. When set, the hub tells the
        service of each new content version (``{"version": "<commit>"}``) before the version
        goes live for spawns, and waits for the answer up to ``lms_sync_timeout`` seconds, so
        the service knows each lesson before any event for it arrives. An unreachable service
        is logged and does not hold the version back (the service then syncs by itself when an
        event names a lesson it does not know). Empty: the hub tells no one.""",
    ).tag(config=True)

    lms_sync_token = Unicode(
        "",
        help="""Hub API token sent to ``lms_sync_url``: it needs access to the service and the
        scope ``custom:lms:content-sync`` (``hub_config/jupyterhub_config.py`` makes one for a
        service of its own, ``lms-content``, at every start).""",
    ).tag(config=True)

    lms_sync_timeout = Float(
        30.0, help="Seconds the hub waits for the LMS service to take a new content version."
    ).tag(config=True)

    unavailable_retry_interval = Float(
        10.0,
        help="""While no content version is live, seconds between the syncs that spawns may
        start (spawns in between are answered with HTTP 503 and the last refusal at once).""",
    ).tag(config=True)

    _shared: ClassVar[dict[tuple, ContentSource]] = {}

    @classmethod
    def shared(cls, url: str, ref: str, cache_dir: str, refresh_interval: float) -> ContentSource:
        """One source per (repo, ref, cache) in this process, like the hub's one database."""
        key = (url, ref, cache_dir)
        source = cls._shared.get(key)
        if source is None:
            source = cls._shared[key] = cls(ContentMirror(url, ref, cache_dir), refresh_interval,
                                            config=_hub_config())
        source.refresh_interval = refresh_interval
        return source

    @classmethod
    def instances(cls) -> list[ContentSource]:
        """Every source of this process (one per repo + ref the spawners follow)."""
        return list(cls._shared.values())

    def __init__(self, mirror: ContentMirror, refresh_interval: float, **kwargs):
        super().__init__(**kwargs)
        self.mirror = mirror
        self.refresh_interval = refresh_interval
        self.version: ContentVersion | None = None
        self.refused: list[str] = []
        self.lms: dict = {}
        self._attempted_at: float | None = None
        self._running: asyncio.Task | None = None
        self._next: asyncio.Future | None = None
        self._follower: asyncio.Task | None = None

    @property
    def display_url(self) -> str:
        """The repo URL as messages and logs show it: without its credentials."""
        return redact_url(self.mirror.url)

    @property
    def last_error(self) -> str:
        """The last refusal as one text (empty when the last sync published or kept a version)."""
        return "\n".join(self.refused)

    def status(self) -> dict:
        """What admins see: the live version, the last refusal, what the LMS service said."""
        return {"version": self.version.sha if self.version else None,
                "refused": list(self.refused), "repo": self.display_url, "ref": self.mirror.ref,
                "lms": dict(self.lms)}

    # -- following ------------------------------------------------------------------------------

    def follow(self) -> None:
        """Start the background task (again, should it ever have ended)."""
        if self._follower is None or self._follower.done():
            self._follower = asyncio.ensure_future(self._follow())

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(max(self.refresh_interval, 1.0))
            try:
                await self.refresh()
            except Exception:  # never: refresh() refuses everything; the task must not end
                self.log.exception("Content follower of %s", self.display_url)

    async def refresh(self) -> ContentVersion | None:
        """Sync now, one sync at a time: a caller that comes while a sync runs gets the next
        one, shared by everyone who asked meanwhile (a push during a sync is not missed)."""
        if self._next is None:
            self._next = asyncio.ensure_future(self._refresh_after(self._running))
        return await asyncio.shield(self._next)

    async def _refresh_after(self, running: asyncio.Task | None) -> ContentVersion | None:
        if running is not None:
            await asyncio.wait([running])
        me = asyncio.current_task()
        self._running, self._next = me, None
        try:
            await self._sync_once()
        finally:
            self._attempted_at = time.monotonic()
            if self._running is me:
                self._running = None
        return self.version

    async def _sync_once(self) -> None:
        try:
            version = await asyncio.to_thread(self.mirror.sync)
        except Exception as exc:  # broken content, git, disk, anything: refused, never raised
            self._refuse(exc)
            return
        if self.version is None or version.sha != self.version.sha:
            await self._tell_lms(version.sha)
            self.log.info("Content version %s of %s is live", version.sha[:12], self.display_url)
        self.version = version
        self.refused = []

    def _refuse(self, exc: Exception) -> None:
        if isinstance(exc, ContentError):
            lines = [str(problem) for problem in exc.problems]
        elif isinstance(exc, GitError):  # git's own words
            lines = [str(exc)]
        else:
            lines = [f"{type(exc).__name__}: {exc}"]
        self.refused = [redact(line, self.mirror.url) for line in lines]
        live = self.version.sha[:12] if self.version else "none"
        self.log.error("Content %s@%s refused (live version: %s):\n  %s", self.display_url,
                       self.mirror.ref, live, "\n  ".join(self.refused))

    async def _tell_lms(self, sha: str) -> None:
        """Tell the LMS service that ``sha`` is about to go live; wait for it to take it."""
        if not self.lms_sync_url:
            return
        self.lms = {"told": sha, "version": None, "error": None}
        request = HTTPRequest(
            self.lms_sync_url, method="POST", body=json.dumps({"version": sha}),
            headers={"Authorization": f"token {self.lms_sync_token}",
                     "Content-Type": "application/json"},
            connect_timeout=min(self.lms_sync_timeout, 10), request_timeout=self.lms_sync_timeout,
        )
        error = None
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
            answer = json.loads(response.body) if response.body else {}
            if not isinstance(answer, dict):
                raise ValueError("the answer is not a JSON object")
        except Exception as exc:  # unreachable, timed out, not JSON
            answer, error = {}, f"{type(exc).__name__}: {exc}"
        else:
            if response.code != 200:
                error = f"HTTP {response.code}: {answer.get('message', '')}"
        if error is None:
            self.lms["version"] = answer.get("version")
            if answer.get("refused") or answer.get("version") is None:
                # (a newer version than ``sha``, with nothing refused, is no error: the
                # service then asks the hub to sync again)
                error = (f"the service has version {answer.get('version')} live; refused: "
                         + "; ".join(answer.get("refused") or []))
        if error is not None:
            self.lms["error"] = redact(error, self.mirror.url)
            self.log.warning("The LMS service did not take content version %s: %s (it syncs "
                             "by itself when an event names a lesson it does not know)",
                             sha[:12], self.lms["error"])

    async def current(self) -> ContentVersion:
        """The live version. The first call starts the follower and waits for a sync; while none
        is live, a call waits for a sync that runs, or starts one when the last ended
        ``unavailable_retry_interval`` seconds ago or more, else answers at once."""
        self.follow()
        if self.version is None:
            if self._running is not None:
                await asyncio.wait([self._running])
            elif (self._attempted_at is None or time.monotonic() - self._attempted_at
                  >= self.unavailable_retry_interval):
                await self.refresh()
            if self.version is None:
                raise ContentUnavailable(
                    f"course content from {self.display_url} is not available: "
                    f"{self.last_error or 'no version has been published yet'}"
                )
        return self.version
