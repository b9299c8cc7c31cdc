"""The hub's own database on a real PostgreSQL server (LMS_HUB_DB_URL)."""

from __future__ import annotations

import psycopg

from ..hubctl import Hub


def test_the_hub_keeps_users_and_groups_in_postgresql(tmp_path, content_remote, run_id):
    name = f"lms_hub_{run_id}"
    with psycopg.connect("host=127.0.0.1 user=lms_test password=lms_test dbname=lms_test",
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://lms_test:lms_test@127.0.0.1:5432/{name}"
    hub = Hub(tmp_path, str(content_remote), f"{run_id}-pg", {"LMS_HUB_DB_URL": url})
    hub.start()
    try:
        hub.create_user("pgrid")
        assert hub.api("POST", "/groups/pg-cohort").status_code == 201
        hub.api("POST", "/groups/pg-cohort/users", json={"users": ["pgrid"]})
        hub.restart()
        assert hub.api("GET", "/users/pgrid").json()["groups"] == ["pg-cohort"]
    finally:
        hub.stop()
    with psycopg.connect(f"host=127.0.0.1 user=lms_test password=lms_test dbname={name}") as conn:
        tables = {row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"users", "groups", "spawners", "api_tokens"} <= tables
