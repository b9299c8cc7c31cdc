"""The schema is made by alembic; an older schema stops the service until `upgrade-db`."""

from __future__ import annotations

import subprocess
import sys

from alembic import command

from lms_extension.service.db import make_engine
from lms_extension.service.migrate import (
    alembic_config,
    current_revision,
    ensure_schema,
    head_revision,
)

from ..hubctl import free_port


def service(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {"JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{free_port()}", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "lms_extension.service", *args, f"--LmsService.db_url={url}",
         "--LmsService.content_sync_interval=0"],
        capture_output=True, text=True, env=env, timeout=60,
    )


def test_an_empty_database_gets_the_newest_schema(tmp_path):
    url = f"sqlite:///{tmp_path}/lms.sqlite"
    engine = make_engine(url)
    assert ensure_schema(engine, url) == "created"
    assert current_revision(engine) == head_revision(url)
    assert ensure_schema(engine, url) == "current"


def test_an_old_schema_is_refused_until_upgraded(tmp_path):
    url = f"sqlite:///{tmp_path}/lms.sqlite"
    command.upgrade(alembic_config(url), "0001")
    refused = service(url=url)
    assert refused.returncode == 1
    assert "schema revision 0001; this version needs" in refused.stderr
    assert "python -m lms_extension.service upgrade-db" in refused.stderr
    assert current_revision(make_engine(url)) == "0001"
    upgraded = service("upgrade-db", url=url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "is up to date" in upgraded.stdout
    assert current_revision(make_engine(url)) == head_revision(url)
