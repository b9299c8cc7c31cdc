"""``LmsService``: the tornado application, its settings and its periodic tasks."""

from __future__ import annotations

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlparse

from jupyterhub.services.auth import HubAuth, HubOAuth
from sqlalchemy import select
from tornado import ioloop, web
from traitlets import Bool, Float, Integer, Unicode, default
from traitlets.config import Application

from lms_extension.content.due import add_days, due_at
from lms_extension.content.wire import MAX_EVENTS_PER_BATCH

from .check_pages import check_routes
from .passback import LtiPassback
from .passback_pages import lti_routes
from .content import ContentFollower
from .content_sync import ContentSync
from .dashboard import dashboard_routes
from .learner_pages import learner_routes
from .db import Cohort, Extension, make_engine, make_sessionmaker
from .gc_tuning import settle as settle_gc
from .deadlines import extension_days
from .handlers import routes
from .hubclient import HubClient
from .ingest import EventIntake
from .migrate import SchemaTooOld, ensure_schema, upgrade
from .progress import mark_delayed
from .staff import staff_routes
from .search import CourseSearch
from .search_pages import search_page_routes
from .writer import Writer

def _env_int(name: str, default: int) -> int:
    """A whole number from the environment variable ``name`` (unset or empty: ``default``)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r}: must be a whole number") from None
    if number < 0:
        raise ValueError(f"{name}={value!r}: must be 0 or more")
    return number


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
        help="""Seconds between automatic syncs of the content repo (0: only on request;
        default: $LMS_CONTENT_SYNC_INTERVAL or 300). The hub announces each version it
        publishes at once, so this timer matters only for commits the hub has not seen.""",
    ).tag(config=True)

    @default("content_sync_interval")
    def _default_content_sync_interval(self):
        return float(os.environ.get("LMS_CONTENT_SYNC_INTERVAL") or 300)

    unknown_lesson_sync_interval = Float(
        10.0,
        help="""An event batch naming a lesson the live content version does not hold makes the
        service sync the content repo once before refusing it (the hub may have published a
        newer version a moment ago); such syncs start at most once per this many seconds
        (others wait for a sync under way, or are judged at once; 0: never).""",
    ).tag(config=True)

    hub_content_sync_url = Unicode(
        help="""The hub's ``POST …/hub/api/lms/content/sync``: when a sync of the service's own
        (its timer, the webhook, an admin) makes a version live that the hub did not announce,
        the service asks the hub to sync too, so that lessons the service shows can be spawned
        at once. Default: ``$JUPYTERHUB_API_URL/lms/content/sync``; empty: the hub is not
        asked.""",
    ).tag(config=True)

    @default("hub_content_sync_url")
    def _default_hub_content_sync_url(self):
        api = os.environ.get("JUPYTERHUB_API_URL", "")
        return f"{api.rstrip('/')}/lms/content/sync" if api else ""

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
        262_144, help="""Largest request body accepted; a larger event batch gets HTTP 413
        (with the limit), other larger bodies HTTP 400. Published in ``GET api/``."""
    ).tag(config=True)

    max_events_per_batch = Integer(
        MAX_EVENTS_PER_BATCH, min=1,
        help="""Most events in one ``POST api/events``; a batch with more gets HTTP 413 (with
        the limit). Published in ``GET api/``.""",
    ).tag(config=True)

    events_per_minute = Integer(
        600, min=0,
        help="""Events one learner may send per minute, with bursts up to as many (0: no
        limit; default: $LMS_EVENTS_PER_MINUTE or 600). The events of a batch past it are refused
        with ``retry: true`` and a ``retry_after`` in seconds (also the ``Retry-After``
        header): the forwarder sends them again then.""",
    ).tag(config=True)

    @default("events_per_minute")
    def _default_events_per_minute(self):
        return _env_int("LMS_EVENTS_PER_MINUTE", 600)

    max_stored_events = Integer(
        200_000, min=0,
        help="""Events stored per learner (0: no limit; default: $LMS_MAX_STORED_EVENTS or
        200000). New events past it are refused for good (``retry: false``), naming the
        quota; resent events already stored are still answered as taken.""",
    ).tag(config=True)

    @default("max_stored_events")
    def _default_max_stored_events(self):
        return _env_int("LMS_MAX_STORED_EVENTS", 200_000)

    max_stored_refusals = Integer(
        1000, min=0,
        help="Refused events kept per learner for their instructors (the newest; 0: all).",
    ).tag(config=True)

    webhook_max_body_bytes = Integer(
        1_048_576,
        help="""Largest body the content webhook reads (default 1 MiB); a larger one gets HTTP
        413 before any of it is read past the limit or hashed.""",
    ).tag(config=True)

    db_threads = Integer(
        4, help="""Threads that run database reads and other writes off the event loop;
        writes that change progress go to the single writer (``writer_on_loop``)."""
    ).tag(config=True)

    writer_on_loop = Bool(
        None, allow_none=True,
        help="""Whether the single writer runs learners' event batches on the event loop
        (between two requests) rather than on its own thread; its other writes always run on
        its thread. Default (unset): on SQLite yes, whose statements never wait on a network,
        so that no batch is handed to another thread and back; on PostgreSQL no, so that the
        loop serves requests while the database server works. See
        :mod:`lms_extension.service.writer`.""",
    ).tag(config=True)

    due_soon_days = Float(
        3.0, min=0,
        help="""Days before a lesson's due date from which the learner page and the JupyterLab
        sidebar show "Due today", "Due tomorrow" or "Due in N days" beside a lesson not yet
        completed (0: no such notices). Published as ``due_soon_days`` in
        ``GET api/progress/<user>``.""",
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
        self.engine = make_engine(self.db_url, background_checkpoints=True)
        outcome = ensure_schema(self.engine, self.db_url)
        self.log.info("LMS database %s (%s)", self.engine.url.render_as_string(), outcome)
        self.sessions = make_sessionmaker(self.engine)
        self.executor = ThreadPoolExecutor(self.db_threads, thread_name_prefix="lms-db")
        on_loop = self.writer_on_loop
        if on_loop is None:
            on_loop = self.engine.dialect.name == "sqlite"
        self.writer = Writer(self.sessions, on_loop=on_loop)
        self.intake = EventIntake(self)
        self.content = ContentFollower(self.content_repo, self.content_ref, self.content_cache_dir)
        self.content_sync = ContentSync(self)
        self.search = CourseSearch(self)
        self.passback = LtiPassback(self)  # scores for the school's LMS (c.LtiPassback.*)
        with self.sessions() as session:
            self.content.load_live(session)
        self.hub = HubClient(os.environ.get("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api"),
                             os.environ.get("JUPYTERHUB_API_TOKEN", ""), self.hub_cache_seconds)
        self.hub_auth = HubAuth(cache_max_age=60)
        page_auth = HubOAuth(cache_max_age=60)
        hub_prefix = os.environ.get("JUPYTERHUB_BASE_URL", "/") + "hub/"
        self.web_app = web.Application(
            routes(self.base_url) + dashboard_routes(self.base_url)
            + learner_routes(self.base_url) + search_page_routes(self.base_url)
            + staff_routes(self.base_url) + check_routes(self.base_url)
            + lti_routes(self.base_url),
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

    async def write(self, work):
        """Run ``work(session)`` on the single writer (:mod:`.writer`), commit, and return its
        result: for every write that changes progress (events, survey answers, deadlines)."""
        return await self.writer.run(work)

    async def sync_content(self, announced: str | None = None) -> dict:
        """Sync the content repo now, one sync at a time (:class:`.content_sync.ContentSync`);
        ``announced``: the version the hub is about to make live."""
        return await self.content_sync.sync(announced)

    async def know_lessons(self, keys: set[tuple[str, str]]) -> None:
        """Before events for lessons the live version lacks are refused: sync once (rate
        limited; :meth:`.content_sync.ContentSync.know_lessons`)."""
        await self.content_sync.know_lessons(keys)

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
                base = due_at(start, lesson["due"])
                if base is None:  # out of range (content from before ranges were checked)
                    continue
                for member in members:
                    days = extension_days(extra, cohort.group, member, lesson["slug"])
                    key = (member, cohort.course, lesson["slug"])
                    due = add_days(base, days)
                    due_dates[key] = max(due_dates.get(key, due), due)
        return due_dates

    async def check_deadlines(self) -> int:
        """Mark every learner's lessons past their due date (and not completed) as delayed."""
        index = self.content.index
        due_dates = await self.due_dates()
        now = self.utcnow()
        changed = await self.write(lambda s: mark_delayed(s, index, due_dates, now))
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
        settle_gc()
        loop = ioloop.IOLoop.current()
        loop.add_callback(self._first_sync)
        loop.add_callback(self.passback.run)
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
