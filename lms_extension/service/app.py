"""``LmsService``: the tornado application, its settings and its periodic tasks."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlparse

from jupyterhub.services.auth import HubAuth, HubOAuth
from sqlalchemy import select
from tornado import ioloop, web
from traitlets import Float, Integer, Unicode, default
from traitlets.config import Application

from .content import ContentFollower
from .dashboard import dashboard_routes
from .db import Cohort, Extension, make_engine, make_sessionmaker
from .handlers import routes
from .hubclient import HubClient
from .migrate import SchemaTooOld, ensure_schema, upgrade
from .progress import mark_delayed

_OFFSET = re.compile(r"^(\d+)([dhw])$")
_UNITS = {"d": "days", "h": "hours", "w": "weeks"}


def due_date(start: datetime, due: str) -> datetime:
    """A lesson's due date: an offset (7d, 12h, 2w) from ``start``, or the end of an ISO date."""
    match = _OFFSET.match(due)
    if match:
        return start + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    return datetime.combine(date.fromisoformat(due), time.max, tzinfo=UTC)


class LmsService(Application):
    """The LMS service of the course platform (a JupyterHub service named ``lms``)."""

    name = "lms-service"
    description = __doc__

    db_url = Unicode(
        help="""SQLAlchemy URL of the service's database. Default: SQLite ``lms.sqlite`` in the
        working directory. PostgreSQL: ``postgresql+psycopg://user:password@host/db``.""",
    ).tag(config=True)

    @default("db_url")
    def _default_db_url(self):
        return os.environ.get("LMS_SERVICE_DB_URL") or "sqlite:///" + os.path.abspath("lms.sqlite")

    content_repo = Unicode(
        help="Git URL or path of the content repo to follow (default: $LMS_CONTENT_REPO).",
    ).tag(config=True)

    @default("content_repo")
    def _default_content_repo(self):
        return os.environ.get("LMS_CONTENT_REPO", "")

    content_ref = Unicode(
        help="Branch, tag or commit of ``content_repo`` to publish (default: $LMS_CONTENT_REF or "
             "the remote's default branch).",
    ).tag(config=True)

    @default("content_ref")
    def _default_content_ref(self):
        return os.environ.get("LMS_CONTENT_REF", "HEAD")

    content_cache_dir = Unicode(
        help="Folder for the service's mirror of the content repo (default: ./lms-content).",
    ).tag(config=True)

    @default("content_cache_dir")
    def _default_content_cache_dir(self):
        return os.path.abspath("lms-content")

    content_sync_interval = Float(
        300.0, help="Seconds between automatic syncs of the content repo (0: only on request)."
    ).tag(config=True)

    deadline_interval = Float(
        300.0, help="Seconds between runs of the task that marks late lessons delayed."
    ).tag(config=True)

    webhook_secret = Unicode(
        help="""Secret of the content webhook (``api/content/webhook``, signed like GitHub's
        ``X-Hub-Signature-256``). Empty (default: $LMS_WEBHOOK_SECRET): the webhook is off.""",
    ).tag(config=True)

    @default("webhook_secret")
    def _default_webhook_secret(self):
        return os.environ.get("LMS_WEBHOOK_SECRET", "")

    max_body_bytes = Integer(
        262_144, help="Largest request body accepted; larger ones get HTTP 400."
    ).tag(config=True)

    webhook_max_body_bytes = Integer(
        1_048_576,
        help="""Largest body the content webhook reads (default 1 MiB); a larger one gets HTTP
        413 before any of it is read past the limit or hashed.""",
    ).tag(config=True)

    db_threads = Integer(
        4, help="Threads that run database work off the event loop."
    ).tag(config=True)

    dashboard_page_size = Integer(
        100, help="Learners per page of a course's progress table in the dashboard."
    ).tag(config=True)

    hub_cache_seconds = Float(
        30.0, help="Seconds the service caches group memberships read from the hub."
    ).tag(config=True)

    base_url = Unicode(help="URL prefix (default: $JUPYTERHUB_SERVICE_PREFIX).").tag(config=True)

    @default("base_url")
    def _default_base_url(self):
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/lms/")

    service_url = Unicode(
        help="Where to listen (default: $JUPYTERHUB_SERVICE_URL, else http://127.0.0.1:10101)."
    ).tag(config=True)

    @default("service_url")
    def _default_service_url(self):
        return os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101")

    def utcnow(self) -> datetime:
        """The one clock of the service (deadlines, received times)."""
        return datetime.now(UTC)

    # -- set-up ---------------------------------------------------------------------------------

    def setup(self) -> None:
        self.engine = make_engine(self.db_url)
        outcome = ensure_schema(self.engine, self.db_url)
        self.log.info("LMS database %s (%s)", self.engine.url.render_as_string(), outcome)
        self.sessions = make_sessionmaker(self.engine)
        self.executor = ThreadPoolExecutor(self.db_threads, thread_name_prefix="lms-db")
        self._running_sync: asyncio.Task | None = None
        self._next_sync: asyncio.Task | None = None
        self.content = ContentFollower(self.content_repo, self.content_ref, self.content_cache_dir)
        with self.sessions() as session:
            self.content.load_live(session)
        self.hub = HubClient(os.environ.get("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api"),
                             os.environ.get("JUPYTERHUB_API_TOKEN", ""), self.hub_cache_seconds)
        self.hub_auth = HubAuth(cache_max_age=60)
        page_auth = HubOAuth(cache_max_age=60)
        hub_prefix = os.environ.get("JUPYTERHUB_BASE_URL", "/") + "hub/"
        self.web_app = web.Application(
            routes(self.base_url) + dashboard_routes(self.base_url),
            hub_auth=self.hub_auth, page_auth=page_auth, lms=self, hub_prefix=hub_prefix,
            cookie_secret=os.urandom(32), login_url=page_auth.login_url, xsrf_cookies=False,
        )

    async def run_db(self, work):
        """Run ``work(session)`` in a database thread, commit, and return its result."""

        def run():
            with self.sessions() as session:
                result = work(session)
                session.commit()
                return result

        return await asyncio.get_running_loop().run_in_executor(self.executor, run)

    async def sync_content(self) -> dict:
        """Sync the content repo, one sync at a time (never two git fetches into the mirror at
        once). A caller that comes while a sync runs gets the next one, which starts when the
        running one ends and is shared by everyone who asked meanwhile: a push during a sync
        is not missed, and a burst of webhooks makes two syncs, not one each."""
        if self._next_sync is None:
            self._next_sync = asyncio.ensure_future(self._sync_after(self._running_sync))
        return await asyncio.shield(self._next_sync)

    async def _sync_after(self, running: asyncio.Task | None) -> dict:
        if running is not None:
            await asyncio.wait([running])
        me = asyncio.current_task()
        self._running_sync, self._next_sync = me, None
        try:
            return await self._sync_once()
        finally:
            if self._running_sync is me:
                self._running_sync = None

    async def _sync_once(self) -> dict:
        now = self.utcnow()
        status = await self.run_db(lambda s: self.content.sync(s, now))
        if status["refused"]:
            self.log.warning("content not published:\n  %s", "\n  ".join(status["refused"]))
        return status

    async def due_dates(self, user: str | None = None) -> dict[tuple, datetime]:
        """Each learner's due dates, ``(user, course, lesson) -> datetime``: the lesson's
        ``due`` from their cohort's start, plus any extension; in several cohorts of one course
        the kindest date wins. Only ``user``'s when given."""
        index = self.content.index
        cohorts, extensions = await self.run_db(lambda s: (
            list(s.scalars(select(Cohort))), list(s.scalars(select(Extension)))))
        extra = {(e.group, e.user, e.lesson): e.days for e in extensions}
        due_dates: dict[tuple, datetime] = {}
        for cohort in cohorts:
            if cohort.course not in index.courses:
                continue
            start = cohort.start if cohort.start.tzinfo else cohort.start.replace(tzinfo=UTC)
            members = await self.hub.members(cohort.group)
            if user is not None:
                members = [m for m in members if m == user]
            for lesson in index.courses[cohort.course]["lessons"]:
                if not lesson.get("due"):
                    continue
                base = due_date(start, lesson["due"])
                for member in members:
                    days = extra.get((cohort.group, member, lesson["slug"]),
                                     extra.get((cohort.group, member, ""), 0.0))
                    key = (member, cohort.course, lesson["slug"])
                    due = base + timedelta(days=days)
                    due_dates[key] = max(due_dates.get(key, due), due)
        return due_dates

    async def check_deadlines(self) -> int:
        """Mark every learner's lessons past their due date (and not completed) as delayed."""
        index = self.content.index
        due_dates = await self.due_dates()
        now = self.utcnow()
        changed = await self.run_db(lambda s: mark_delayed(s, index, due_dates, now))
        if changed:
            self.log.info("%d lesson(s) turned delayed", changed)
        return changed

    def start(self) -> None:
        try:
            self.setup()
        except SchemaTooOld as exc:
            self.log.critical("%s", exc)
            sys.exit(1)
        url = urlparse(self.service_url)
        self.web_app.listen(url.port or 80, url.hostname or "127.0.0.1")
        self.log.info("LMS service listening on %s%s", self.service_url, self.base_url)
        loop = ioloop.IOLoop.current()
        loop.add_callback(self._first_sync)
        for interval, task in ((self.content_sync_interval, self.sync_content),
                               (self.deadline_interval, self.check_deadlines)):
            if interval > 0:
                ioloop.PeriodicCallback(task, interval * 1000).start()
        try:
            loop.start()
        except KeyboardInterrupt:  # the hub stops its services with SIGINT/SIGTERM
            self.log.info("LMS service stopping")

    async def _first_sync(self):
        await self.sync_content()
        await self.check_deadlines()


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["upgrade-db"]:
        app = LmsService()
        app.initialize(argv[1:])
        upgrade(app.db_url)
        print(f"the LMS database {make_engine(app.db_url).url.render_as_string()} is up to date")
        return
    LmsService.launch_instance(argv)
