"""Database files readable by their owner only.

SQLite creates a database with the process's umask (usually world-readable), and its journal,
WAL and shared-memory files take the database file's mode. Creating the database file with mode
0600 before SQLite opens it therefore keeps all of them private, without a process-wide umask
(which would also make the content folders that lesson containers read private). Used for the
LMS database and, from ``hub_config/jupyterhub_config.py``, for the hub's.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE = 0o600
SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")


def private_file(path: str | Path) -> None:
    """Create ``path`` (empty) with mode 0600 if it is missing; make an existing one 0600."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)
    finally:
        os.close(fd)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (relative paths from the working directory, as SQLite
    reads them); None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).absolute()


def private_sqlite_file(url: str) -> None:
    """Before SQLite opens the database of ``url``: create its file (and tighten any journal,
    WAL and shared-memory file left from before) readable by its owner only. Does nothing for
    other databases."""
    path = sqlite_path(url)
    if path is None:
        return
    private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.chmod(PRIVATE)
