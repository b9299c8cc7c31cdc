"""Attack: read the hub's content refusals, or make the hub and the LMS service sync, without
being a hub admin.

The hub's ``/hub/api/lms/content`` (the live version and the last refused commit's lines) and
``…/sync`` are for hub admins; syncing is also allowed to tokens holding
``custom:lms:content-sync``, which only the hub's own ``lms-content`` service and the LMS
service hold. A learner tries with their own token, tries to give themselves the scope, and
tries the service's announcement body; code in an admin's lesson server tries with a token of
the lesson server's scopes."""

from __future__ import annotations

import pytest
import requests

from ..hubctl import Hub

ADMIN = "ada"
LEARNER = "lena"
# what a lesson server's token holds (hub_config: c.Spawner.server_token_scopes), for ADMIN
SERVER_SCOPES = ["access:services!service=lms", f"users:activity!user={ADMIN}",
                 f"servers!user={ADMIN}", f"read:servers!user={ADMIN}"]


@pytest.fixture(scope="module")
def hub(content_remote, run_id, tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("content-sync-hub"), str(content_remote),
              f"{run_id}-csync", {"LMS_ADMIN_USERS": ADMIN})
    hub.start()
    yield hub
    hub.stop()


def token(hub: Hub, user: str, **body) -> requests.Response:
    hub.create_user(user)
    return hub.api("POST", f"/users/{user}/tokens", json={"note": "attack", **body})


def calls(hub: Hub, secret: str) -> list[requests.Response]:
    lms = f"{hub.service_url('lms')}/api/content/sync"
    headers = {"Authorization": f"token {secret}"}
    return [
        hub.api("GET", "/lms/content", token=secret),
        hub.api("POST", "/lms/content/sync", token=secret),
        requests.post(lms, headers=headers, json={"version": "0" * 40}, timeout=60),
        requests.post(lms, headers=headers, timeout=60),
    ]


def test_a_learner_can_neither_see_nor_sync_the_content(hub):
    learner = token(hub, LEARNER).json()["token"]
    for r in calls(hub, learner):
        assert r.status_code == 403, (r.request.method, r.url, r.status_code, r.text)
        assert "refused" not in r.json(), r.text
    # nor give their own token the sync scope
    r = token(hub, LEARNER, scopes=["custom:lms:content-sync"])
    assert r.status_code in (400, 403), r.text


def test_a_token_of_an_admins_lesson_server_can_neither_see_nor_sync(hub):
    r = token(hub, ADMIN, scopes=SERVER_SCOPES)
    assert r.status_code == 201, r.text
    for r in calls(hub, r.json()["token"]):
        assert r.status_code == 403, (r.request.method, r.url, r.status_code, r.text)
    # the admin's own token may
    admin = token(hub, ADMIN).json()["token"]
    r = hub.api("POST", "/lms/content/sync", token=admin)
    assert r.status_code == 200 and r.json()["version"], r.text
    assert hub.api("GET", "/lms/content", token=admin).json()["refused"] == []
