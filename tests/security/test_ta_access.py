"""A teaching assistant (a member of ``c1-instructors``) may open the servers of cohort c1's
learners, through the hub's real OAuth in a browser-like session, and nothing more: not a c2
learner's server, not starting or stopping servers, not c2's progress in the LMS service. Leaving
the group takes the access away while the TA's page is open. Every visit is recorded by the hub,
listed for the owner and admins and nobody else, and the TA cannot erase it.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

import pytest
import requests

from ..hubctl import Hub
from ..spawn.accounts import login
from .test_service_access import server_token

TA = "tessa"
LEARNER = "lena"  # cohort c1
OTHER = "carl"  # cohort c2


@pytest.fixture(scope="module")
def hub(docker_engine, content_remote, run_id, tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("ta-hub"), str(content_remote), f"{run_id}-ta",
              {"LMS_IDLE_TIMEOUT": "0", "LMS_SERVER_AUTH_CACHE": "10"})
    hub.start()
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def school(hub):
    """Two learners with running lesson servers in cohorts c1 and c2, and a TA of c1 who signed
    up through the hub's form and was then added to c1-instructors (no restart)."""
    ta_session = login(hub.url, TA)
    tokens = {}
    for user in (LEARNER, OTHER, TA):
        hub.create_user(user)
        r = hub.api("POST", f"/users/{user}/tokens", json={"note": "ta access test"})
        assert r.status_code == 201, r.text
        tokens[user] = r.json()["token"]
    for group, users in (("c1", [LEARNER]), ("c2", [OTHER]), ("c1-instructors", [TA])):
        assert hub.api("POST", f"/groups/{group}").status_code in (201, 409)
        r = hub.api("POST", f"/groups/{group}/users", json={"users": users})
        assert r.status_code == 200, r.text
    # what the LMS service does right after making a cohort: no waiting for the hub's timer
    r = hub.api("POST", "/lms/cohort-roles")
    assert r.status_code == 200 and "c1" in r.json()["created"], r.text
    for user in (LEARNER, OTHER):
        r = hub.start_lesson(user, "dl-basics/python-basics")
        assert r.status_code in (201, 202), r.text
    for user in (LEARNER, OTHER):
        hub.wait_ready(user)
    return {"session": ta_session, "tokens": tokens}


def open_server(session: requests.Session, hub: Hub, owner: str) -> requests.Response:
    """What a browser does on ``/user/<owner>/lab``: the server sends it to the hub's OAuth,
    the hub asks the visitor to confirm (someone else's server), the visitor confirms."""
    r = session.get(f"{hub.user_url(owner)}/user/{owner}/lab", timeout=60)
    if "/hub/api/oauth2/authorize" in r.url and r.status_code == 200:
        fields = dict(re.findall(r'name="(_xsrf)" value="([^"]*)"', r.text))
        scopes = re.findall(r'name="scopes" value="([^"]*)"', r.text)
        assert fields, r.text[-1500:]
        r = session.post(r.url, data={**fields, "scopes": scopes}, timeout=60)
    return r


def contents(session: requests.Session, hub: Hub, owner: str) -> int:
    return session.get(f"{hub.user_url(owner)}/user/{owner}/api/contents", timeout=30).status_code


def visits(hub: Hub, owner: str, token: str | None = None) -> requests.Response:
    return hub.api("GET", f"/lms/visits?user={owner}", token=token)


def test_a_ta_opens_their_cohorts_servers_and_nothing_else(hub, school):
    session, tokens = school["session"], school["tokens"]
    r = open_server(session, hub, LEARNER)
    assert r.status_code == 200 and f"/user/{LEARNER}/lab" in r.url, (r.status_code, r.url)
    assert contents(session, hub, LEARNER) == 200

    # another cohort's learner: the hub refuses at its OAuth, the server never lets them in
    r = open_server(session, hub, OTHER)
    assert r.status_code == 403, (r.status_code, r.url)
    assert contents(session, hub, OTHER) in (302, 403)
    # not even with an API token: no start, stop or delete of anyone's server
    ta = tokens[TA]
    for owner in (LEARNER, OTHER):  # (the hub answers 404 where it hides the user)
        assert hub.api("DELETE", f"/users/{owner}/server", token=ta).status_code in (403, 404)
        assert hub.api("POST", f"/users/{owner}/servers/extra", token=ta,
                       json={"lesson": "dl-basics/python-basics"}).status_code in (403, 404)
    for owner in (LEARNER, OTHER):
        assert set(hub.api("GET", f"/users/{owner}").json()["servers"]) == {""}
        assert hub.api("GET", f"/users/{owner}").json()["servers"][""]["ready"]
    assert hub.api("GET", f"/users/{LEARNER}", token=ta).json()["servers"][""]["ready"]
    assert hub.api("GET", f"/users/{OTHER}", token=ta).status_code == 404
    # the LMS service: c1's learner's progress and visits, not c2's
    service = hub.service_url("lms") + "/api"
    headers = {"Authorization": f"token {ta}"}
    assert requests.get(f"{service}/progress/{LEARNER}", headers=headers, timeout=30).ok
    for path in (f"/progress/{OTHER}", f"/visits/{OTHER}"):
        r = requests.get(service + path, headers=headers, timeout=30)
        assert r.status_code == 403, (path, r.text)


def test_the_visit_is_recorded_by_the_hub_for_the_owner_and_admins_only(hub, school):
    tokens = school["tokens"]
    mine = visits(hub, LEARNER, tokens[LEARNER])
    assert mine.status_code == 200, mine.text
    (visit,) = [v for v in mine.json()["visits"] if v["visitor"] == TA]
    assert visit["server"] == "" and visit["seconds"] >= 0
    assert datetime.fromisoformat(visit["last_seen"]) >= datetime.fromisoformat(visit["started"])
    # the learner's lesson server reads it with its own token (what JupyterLab shows)
    assert visits(hub, LEARNER, server_token(hub, LEARNER)).json() == mine.json()
    assert visits(hub, LEARNER).json() == mine.json()  # an admin
    # the refused try on c2 was no visit; nobody but the owner and admins may read the list
    assert visits(hub, OTHER).json()["visits"] == []
    for who in (OTHER, TA):
        r = visits(hub, LEARNER, tokens[who])
        assert r.status_code == 403, (who, r.text)
    assert hub.api("GET", "/lms/visits?user=" + LEARNER, token="not-a-token").status_code == 403
    # the LMS service shows it to the owner, not to another learner
    service = hub.service_url("lms") + "/api"
    r = requests.get(f"{service}/visits/{LEARNER}", timeout=30,
                     headers={"Authorization": f"token {tokens[LEARNER]}"})
    assert r.status_code == 200 and r.json()["visits"][0]["visitor"] == TA, r.text
    r = requests.get(f"{service}/visits/{LEARNER}", timeout=30,
                     headers={"Authorization": f"token {tokens[OTHER]}"})
    assert r.status_code == 403, r.text


def test_the_visit_lasts_while_the_ta_works_and_ends_when_they_leave_the_group(hub, school):
    session = school["session"]
    # the TA keeps working in the learner's server for a while
    until = time.monotonic() + 45
    while time.monotonic() < until:
        assert contents(session, hub, LEARNER) == 200
        time.sleep(3)
    (visit,) = [v for v in visits(hub, LEARNER).json()["visits"] if v["visitor"] == TA]
    assert visit["seconds"] >= 20, visit  # last_seen follows the TA's use of the server

    r = hub.api("DELETE", "/groups/c1-instructors/users", json={"users": [TA]})
    assert r.status_code == 200, r.text
    # the open page loses the server within the server's auth cache (LMS_SERVER_AUTH_CACHE)
    deadline = time.monotonic() + 40
    while contents(session, hub, LEARNER) == 200:
        assert time.monotonic() < deadline, "the TA kept access after leaving the group"
        time.sleep(1)
    assert contents(session, hub, LEARNER) in (302, 403)
    assert open_server(session, hub, LEARNER).status_code == 403


def test_the_ta_cannot_erase_the_record(hub, school):
    ta = school["tokens"][TA]
    before = [v for v in visits(hub, LEARNER).json()["visits"] if v["visitor"] == TA]
    assert before
    own = hub.api("GET", f"/users/{TA}/tokens", token=ta).json()["api_tokens"]
    assert any(f"/user/{LEARNER}/" in (t.get("oauth_client") or "") for t in own), own
    # the token of this very request last
    for token in sorted(own, key=lambda t: t["note"] == "ta access test"):
        r = hub.api("DELETE", f"/users/{TA}/tokens/{token['id']}", token=ta)
        assert r.status_code == 204, r.text
    assert hub.api("GET", f"/users/{TA}/tokens").json()["api_tokens"] == []
    after = [v for v in visits(hub, LEARNER).json()["visits"] if v["visitor"] == TA]
    assert after == before
