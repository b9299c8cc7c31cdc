"""The service's tables (SQLAlchemy 2). The schema is created and changed only by the alembic
migrations in ``migrations/``; these classes must match them."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from .private_files import private_sqlite_file

log = logging.getLogger(__name__)

NAME = String(255)
SLUG = String(64)


class Base(DeclarativeBase):
    pass


class ContentVersion(Base):
    """A published commit of the content repo that passed validation."""

    __tablename__ = "content_versions"
    sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    catalog: Mapped[dict] = mapped_column(JSON)  # lms-content catalog JSON, plus code cell counts


class Cohort(Base):
    """A hub group bound to a course, with the date its lessons' due offsets count from."""

    __tablename__ = "cohorts"
    group: Mapped[str] = mapped_column(NAME, primary_key=True)
    course: Mapped[str] = mapped_column(SLUG)
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Extension(Base):
    """Extra days for one learner in one cohort, or for the whole cohort when user='' (one
    lesson, or every lesson when lesson=''). A learner's days add to the cohort's; at either
    level a lesson's own entry replaces the entry for every lesson."""

    __tablename__ = "extensions"
    group: Mapped[str] = mapped_column(ForeignKey("cohorts.group", ondelete="CASCADE"),
                                       primary_key=True)
    user: Mapped[str] = mapped_column(NAME, primary_key=True)
    lesson: Mapped[str] = mapped_column(SLUG, primary_key=True, default="")
    days: Mapped[float] = mapped_column(Float)


class Event(Base):
    """A learner event as received; its id makes resending harmless."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_user_course", "user", "course"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user: Mapped[str] = mapped_column(NAME)
    course: Mapped[str] = mapped_column(SLUG)
    lesson: Mapped[str] = mapped_column(SLUG)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict] = mapped_column(JSON)


class Progress(Base):
    """Where one learner stands in one lesson. No row: not started."""

    __tablename__ = "progress"
    user: Mapped[str] = mapped_column(NAME, primary_key=True)
    course: Mapped[str] = mapped_column(SLUG, primary_key=True, index=True)
    lesson: Mapped[str] = mapped_column(SLUG, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # in_progress, completed, delayed
    first_opened: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_activity: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    cells_ok: Mapped[list] = mapped_column(JSON, default=list)  # ids of cells run without error
    errors: Mapped[int] = mapped_column(Integer, default=0)
    delayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SurveyResponse(Base):
    """One learner's answers to a lesson's survey (editable: the latest answers count)."""

    __tablename__ = "survey_responses"
    user: Mapped[str] = mapped_column(NAME, primary_key=True)
    course: Mapped[str] = mapped_column(SLUG, primary_key=True)
    lesson: Mapped[str] = mapped_column(SLUG, primary_key=True)
    survey: Mapped[str] = mapped_column(SLUG)
    answers: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


SOURCE_SERVICE = "service"
SOURCE_LESSON_SERVER = "lesson server"


class Refusal(Base):
    """A learner event refused for good, for the learner's instructors: by the service
    (``retry: false``; ``source`` "service") or by the learner's lesson server, which reported it
    (``POST api/refusals``; ``source`` "lesson server", ``report_id`` the report's id, unique per
    learner). ``body`` is the event as sent, cut to a few KiB."""

    __tablename__ = "refusals"
    __table_args__ = (Index("ix_refusals_user_at", "user", "at"),
                      Index("ix_refusals_course_at", "course", "at"),
                      Index("ux_refusals_user_report", "user", "report_id", unique=True))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user: Mapped[str] = mapped_column(NAME)
    event_id: Mapped[str | None] = mapped_column(String(36))
    course: Mapped[str | None] = mapped_column(SLUG)
    lesson: Mapped[str | None] = mapped_column(SLUG)
    field: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(1000))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default=SOURCE_SERVICE,
                                        server_default=SOURCE_SERVICE)
    report_id: Mapped[str | None] = mapped_column(String(80))


class ContentRefusal(Base):
    """A commit of the content repo that was refused, with the validator's lines: when it was
    first and last refused (each sync of a broken ``ref`` refuses it again)."""

    __tablename__ = "content_refusals"
    commit: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_refused_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_refused_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    lines: Mapped[list] = mapped_column(JSON)


class WebhookDelivery(Base):
    """A content webhook delivery that was accepted: its id (``X-GitHub-Delivery``) and its
    signature, so that neither can be accepted twice (a replay)."""

    __tablename__ = "webhook_deliveries"
    delivery: Mapped[str] = mapped_column(String(64), primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def make_engine(url: str, background_checkpoints: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout so readers do not block, and
    its files are readable by their owner only.

    ``background_checkpoints`` (SQLite, the service's own engine): commits no longer copy the
    WAL back into the database file themselves (``wal_autocheckpoint`` off, which makes the
    commit that crosses 1,000 pages wait for the copy and its fsync); a thread of its own does,
    every ``CHECKPOINT_SECONDS``, without blocking readers or the writer."""
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):
            cursor = conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            if background_checkpoints:
                cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()

        if background_checkpoints:
            threading.Thread(target=_checkpoints, args=(engine,), name="lms-wal-checkpoint",
                             daemon=True).start()
        return engine
    # No server-side prepared statements: psycopg prepares a query after five runs, and the
    # plan PostgreSQL then keeps was made for the tables as they were (a seq scan of the
    # events while there were few): the duplicate check of every batch scanned the whole
    # table, and ingestion fell from over 10,000 events/s to 3,000 as it grew.
    psycopg3 = make_url(url).get_driver_name() == "psycopg"
    engine = create_engine(url, connect_args={"prepare_threshold": None} if psycopg3 else {})
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE = 1.0  # seconds a pooled connection may rest and be used again without a ping


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before it is used again when it rested ``PING_AFTER_IDLE``
    seconds or more (or its driver knows it is broken), and replace it when the database
    server no longer answers on it: a restarted or failed-over database costs no request.

    SQLAlchemy's ``pool_pre_ping`` does the same on every checkout, and a round trip to the
    database server costs the single writer's transaction a few milliseconds on a busy machine.
    A connection used within the last second is taken as it is; if the server went away in
    that second, the statement fails and SQLAlchemy replaces every pooled connection."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _rested_from(_dbapi_connection, record):
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy):
        rested = time.monotonic() - record.info.get("checked_in", float("-inf"))
        if rested < PING_AFTER_IDLE and not getattr(dbapi_connection, "broken", False):
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"the database server did not answer: {exc}") from exc
        if alive is False:
            raise DisconnectionError("the database server did not answer")


CHECKPOINT_SECONDS = 1.0


def _checkpoints(engine: Engine) -> None:
    """Copy the SQLite WAL into the database file every ``CHECKPOINT_SECONDS`` (``PASSIVE``:
    as far as readers allow, never waiting for them or the writer)."""
    while True:
        time.sleep(CHECKPOINT_SECONDS)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # noqa: BLE001 - the next round tries again; commits go on meanwhile
            log.warning("WAL checkpoint of %s failed", engine.url, exc_info=True)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
