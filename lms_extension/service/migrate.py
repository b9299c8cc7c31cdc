"""Schema migrations with alembic, and the start-up check that refuses an old schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaTooOld(RuntimeError):
    pass


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision(url: str) -> str:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (``upgrade-db``)."""
    command.upgrade(alembic_config(url), "head")


def ensure_schema(engine: Engine, url: str) -> str:
    """Create the schema in an empty database; refuse one at an older revision.

    Like ``jupyterhub upgrade-db``, upgrading an existing database is an explicit step, so an
    operator can back it up first.
    """
    head = head_revision(url)
    current = current_revision(engine)
    if current is None:
        upgrade(url)
        return "created"
    if current != head:
        raise SchemaTooOld(
            f"the LMS database is at schema revision {current}; this version needs {head}. "
            "Back up the database, then run: python -m lms_extension.service upgrade-db"
        )
    return "current"
