"""A real JupyterHub running the LMS service, on SQLite and on PostgreSQL, with real tokens."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
import requests

from ..hubctl import Hub

POSTGRES = "postgresql+psycopg://lms_test:lms_test@127.0.0.1:5432/{db}"
COHORTS = "cohort-a,cohort-b"


def _postgres_database(name: str) -> str:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=lms_test password=lms_test dbname=lms_test",
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES.format(db=name)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request, tmp_path_factory, run_id):
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path_factory.mktemp("lms-db") / "lms.sqlite")
    return _postgres_database(f"lms_test_{run_id}")


@pytest.fixture(scope="session")
def postgres_url(run_id):
    """A database of its own on the tests' PostgreSQL server."""
    return _postgres_database(f"lms_test_{run_id}_pg")


class Lms:
    """The LMS service behind a real hub, called with real hub tokens."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self.api_url = f"{hub.service_url('lms')}/api"
        self.tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self.tokens:
            self.hub.create_user(user)
            r = self.hub.api("POST", f"/users/{user}/tokens", json={"note": "lms tests"})
            assert r.status_code == 201, r.text
            self.tokens[user] = r.json()["token"]
        return self.tokens[user]

    def group(self, name: str, *users: str) -> None:
        for user in users:
            self.token(user)
        r = self.hub.api("POST", f"/groups/{name}")
        assert r.status_code in (201, 409), r.text
        r = self.hub.api("POST", f"/groups/{name}/users", json={"users": list(users)})
        assert r.status_code == 200, r.text

    def call(self, method: str, path: str, user: str | None = None, **kwargs):
        """Call the API as ``user`` (a learner's token), as 'admin' (the admin token), or with
        no token at all (user=None)."""
        headers = kwargs.pop("headers", {})
        if user == "admin":
            headers["Authorization"] = f"token {self.hub.token}"
        elif user is not None:
            headers["Authorization"] = f"token {self.token(user)}"
        return requests.request(method, f"{self.api_url}{path}", headers=headers, timeout=30,
                                **kwargs)

    def events(self, user: str, *events: dict) -> requests.Response:
        return self.call("POST", "/events", user, json={"events": list(events)})


def counts(response: requests.Response) -> tuple[int, int]:
    """(accepted, duplicates) of a batch that was taken whole."""
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["refused"] == [], result
    return result["accepted"], result["duplicates"]


def code_cell_ids(lms: Lms, lesson: str, course: str = "dl-basics") -> list[str]:
    """The ids of the lesson's code cells: the cells that count toward completion."""
    catalog = lms.call("GET", "/catalog", "admin").json()
    info = next(c for c in catalog["courses"] if c["slug"] == course)
    return next(x for x in info["lessons"] if x["slug"] == lesson)["code_cell_ids"]


def event(kind: str, lesson: str, course: str = "dl-basics", **fields) -> dict:
    return {"id": str(uuid.uuid4()), "kind": kind, "course": course, "lesson": lesson,
            "at": datetime.now(UTC).isoformat(), **fields}


def wait_for(hub, ready, failure: str, seconds: float = 60) -> None:
    """Until ``ready()`` is true (a service not listening yet counts as not ready); else stop
    the hub and fail with ``failure`` and the hub's log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except (requests.ConnectionError, ValueError, KeyError):
            pass
        time.sleep(0.3)
    hub.stop()
    raise AssertionError(f"{failure}:\n{hub.log_tail(80)}")


@pytest.fixture(scope="session")
def lms(db_url, content_remote, run_id, tmp_path_factory):
    state = tmp_path_factory.mktemp("lms-hub")
    hub = Hub(state, str(content_remote), f"{run_id}-svc",
              {"LMS_SERVICE_DB_URL": db_url, "LMS_COHORTS": COHORTS, "LMS_ADMIN_USERS": "adam"})
    hub.start()
    service = Lms(hub)
    wait_for(hub, lambda: service.call("GET", "/content", "admin").json()["version"],
             "the LMS service did not publish the content")
    yield service
    hub.stop()
