"""Grade passback to the school's LMS (LTI Advantage AGS), against the test LTI platform.

Learners launch from the platform (tests/lti/platform.py: a real OIDC login, a signed
id_token); the hub logs them in and records each launch in the LMS service; their progress
comes in as learner events, as from a lesson server; the service posts scores to the platform's
scores endpoint with an access token it got with a signed client assertion.
"""

from __future__ import annotations

import re
import time

import pytest
import requests

from ..lti.conftest import lti_hub_for
from ..lti.platform import SCORE_TYPE, LtiPlatform
from .conftest import Lms, _postgres_database, code_cell_ids, event

LESSON = "dl-basics/python-basics"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
POLL = 0.2  # LMS_LTI_PASSBACK_INTERVAL of the test hub
ATTEMPTS = 3  # LMS_LTI_MAX_ATTEMPTS of the test hub


@pytest.fixture(scope="module")
def platform(pb_db_url):
    """The school's LMS, one per database: each run starts with an empty gradebook."""
    platform = LtiPlatform().start()
    yield platform
    platform.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pb_db_url(request, run_id, tmp_path_factory):
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path_factory.mktemp("pb-db") / "lms.sqlite")
    return _postgres_database(f"lms_pb_{run_id}")


@pytest.fixture(scope="module")
def lms(platform, pb_db_url, content_remote, run_id, tmp_path_factory):
    hub = lti_hub_for(platform, tmp_path_factory.mktemp("passback-hub"), content_remote,
                      f"{run_id}-pb", {
                          "LMS_SERVICE_DB_URL": pb_db_url,
                          "LMS_ADMIN_USERS": "adam", "LMS_COHORTS": "pb-cohort",
                          "LMS_LTI_PASSBACK_INTERVAL": str(POLL),
                          "LMS_LTI_RETRY_DELAY": "0.3", "LMS_LTI_MAX_ATTEMPTS": str(ATTEMPTS)})
    hub.start()
    service = Lms(hub)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            r = service.call("GET", "/content", "admin")
            if r.ok and r.json()["version"]:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    else:
        hub.stop()
        raise AssertionError(f"the LMS service did not publish the content:\n{hub.log_tail(80)}")
    yield service
    print(hub.log_tail(60))  # shown when a test of the module failed
    hub.stop()


def launch(platform, user: str, link: str, lesson: str | None = LESSON,
           roles=("Learner",)) -> requests.Session:
    """``user`` clicks the activity ``link`` in the school's LMS; returns their browser
    session, logged in to the hub (the lesson's spawn is not followed)."""
    session = requests.Session()
    custom = {"lesson": lesson} if lesson else {"course": "dl-basics"}
    result = platform.launch(session, user=user, resource_link_id=link, roles=list(roles),
                             custom=custom)
    assert result.response.status_code in (302, 303), (
        result.response.status_code, result.response.text[-300:], platform.errors[-3:])
    return session


def complete(lms: Lms, user: str) -> list[dict]:
    """Run every code cell of python-basics without error: the lesson turns completed.
    Returns the events, to send again."""
    events = [event("cell_executed", "python-basics", cell_id=i, ok=True, active_seconds=5)
              for i in code_cell_ids(lms, "python-basics")]
    r = lms.events(user, *events)
    assert r.status_code == 200 and not r.json()["refused"], r.text
    return events


def scores(platform, link: str) -> list[dict]:
    return [s.body for s in platform.scores if s.lineitem == platform.lineitem_url(link)]


def wait_scores(platform, link: str, n: int, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(scores(platform, link)) >= n:
            return scores(platform, link)
        time.sleep(0.1)
    raise AssertionError(f"{len(scores(platform, link))} scores for {link}, not {n}; "
                         f"platform refusals: {platform.errors[-5:]}")


def quiet(platform, link: str) -> int:
    """Wait several rounds of the passback task; how many scores ``link`` got meanwhile."""
    before = len(platform.score_attempts)
    time.sleep(POLL * 10)
    return len([a for a in platform.score_attempts[before:]
                if a == platform.lineitem_url(link)])


def passbacks(lms: Lms, status: str) -> list[dict]:
    r = lms.call("GET", f"/lti/passbacks?status={status}", "admin")
    assert r.status_code == 200, r.text
    return r.json()["passbacks"]


def test_a_completion_posts_exactly_one_score(lms, platform):
    launch(platform, "ann", "rl-ann")
    assert quiet(platform, "rl-ann") == 0  # nothing done yet: nothing to report
    events = complete(lms, "ann")
    [score] = wait_scores(platform, "rl-ann", 1)
    assert score["userId"] == "ann"
    assert (score["scoreGiven"], score["scoreMaximum"]) == (1, 1)
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", score["timestamp"])
    assert all(s.content_type == SCORE_TYPE for s in platform.scores)
    # the same events again, the cells run again, the lesson marked done, another launch:
    # the platform has this state already, so nothing more is sent
    lms.events("ann", *events)
    complete(lms, "ann")
    lms.events("ann", event("lesson_completed", "python-basics"))
    launch(platform, "ann", "rl-ann")
    assert quiet(platform, "rl-ann") == 0
    assert len(scores(platform, "rl-ann")) == 1
    delivered = [p for p in passbacks(lms, "delivered") if p["user"] == "ann"]
    assert [(p["status"], p["attempts"]) for p in delivered] == [("delivered", 1)]


def test_the_token_request_carries_a_valid_client_assertion(lms, platform):
    # the platform verified the assertion against the hub's JWKS (signature, kid, iss = sub =
    # client id, aud = its token URL, exp, a jti used once) before it issued any token
    assert platform.tokens_issued, platform.errors
    assert all(grant["scopes"] == [SCORE_SCOPE] for grant in platform.tokens_issued.values())
    assert not [e for e in platform.errors if e.startswith("/token")], platform.errors
    # the token is kept until it expires: one token for every score so far
    assert len(platform.tokens_issued) == 1


def test_platform_errors_are_retried_until_it_takes_the_score(lms, platform):
    launch(platform, "bea", "rl-bea")
    platform.fail_next_scores(2, status=500)
    complete(lms, "bea")
    [score] = wait_scores(platform, "rl-bea", 1)
    assert score["userId"] == "bea" and score["activityProgress"] == "Completed"
    assert quiet(platform, "rl-bea") == 0
    assert platform.score_attempts.count(platform.lineitem_url("rl-bea")) == 3
    assert len(scores(platform, "rl-bea")) == 1
    [row] = [p for p in passbacks(lms, "delivered") if p["user"] == "bea"]
    assert row["attempts"] == 3


def test_knowledge_check_scores_go_back_as_they_change(lms, platform):
    launch(platform, "dan", "rl-dan")
    half = {"len-scores": "3", "comprehension": ["list(scores)"], "mean": 1, "keyword": "def"}
    r = lms.call("POST", "/checks/dl-basics/python-basics", "dan", json={"answers": half})
    assert r.status_code == 200 and r.json()["correct"] == 2, r.text
    [first] = wait_scores(platform, "rl-dan", 1)
    assert (first["scoreGiven"], first["scoreMaximum"]) == (2, 4)
    assert first["activityProgress"] == "Submitted"  # the lesson is not completed yet
    right = {**half, "comprehension": ["[s for s in scores]", "list(scores)"], "mean": 2.5}
    r = lms.call("POST", "/checks/dl-basics/python-basics", "dan", json={"answers": right})
    assert r.json()["correct"] == 4, r.text
    second = wait_scores(platform, "rl-dan", 2)[1]
    assert (second["scoreGiven"], second["activityProgress"]) == (4, "Submitted")
    complete(lms, "dan")
    third = wait_scores(platform, "rl-dan", 3)[2]
    assert (third["scoreGiven"], third["scoreMaximum"]) == (4, 4)
    assert third["activityProgress"] == "Completed"
    # a worse attempt later does not lower the best score: nothing new to send
    lms.call("POST", "/checks/dl-basics/python-basics", "dan", json={"answers": half})
    assert quiet(platform, "rl-dan") == 0


def test_a_course_launch_is_scored_by_completed_lessons(lms, platform):
    launch(platform, "eve", "rl-eve", lesson=None)
    complete(lms, "eve")
    [score] = wait_scores(platform, "rl-eve", 1)
    catalog = lms.call("GET", "/catalog", "admin").json()
    lessons = len(next(c for c in catalog["courses"] if c["slug"] == "dl-basics")["lessons"])
    assert (score["scoreGiven"], score["scoreMaximum"]) == (1, lessons)
    assert score["activityProgress"] == "InProgress"


@pytest.fixture(scope="module")
def admin_session(lms, platform):
    """adam (a hub admin) logged in through a launch, and on the dashboard."""
    session = launch(platform, "adam", "rl-adam", roles=("Instructor",))
    r = session.get(f"{lms.hub.service_url('lms')}/lti/passbacks", timeout=60)
    assert r.status_code == 200, r.text[-500:]
    return session


def test_a_platform_that_keeps_refusing_shows_on_the_dashboard(lms, platform, admin_session):
    learner = launch(platform, "cat", "rl-cat")
    platform.fail_next_scores(100, status=500)
    complete(lms, "cat")
    deadline = time.monotonic() + 30
    while not [p for p in passbacks(lms, "failed") if p["user"] == "cat"]:
        assert time.monotonic() < deadline, passbacks(lms, "pending")
        time.sleep(0.2)
    platform.fail_next_scores(0)
    [row] = [p for p in passbacks(lms, "failed") if p["user"] == "cat"]
    assert row["attempts"] == ATTEMPTS and "HTTP 500" in row["last_error"]
    assert platform.score_attempts.count(platform.lineitem_url("rl-cat")) == ATTEMPTS
    assert quiet(platform, "rl-cat") == 0  # failed: no more attempts on its own
    url = f"{lms.hub.service_url('lms')}/lti/passbacks"
    page = admin_session.get(url, timeout=60)
    failed = page.text.split('id="failed-passbacks"')[1].split("</table>")[0]
    assert 'data-user="cat"' in failed and "HTTP 500" in failed
    # a learner does not see the page; a post without the page's XSRF token does nothing
    assert learner.get(url, timeout=60).status_code == 403
    form = {"action": "retry", "id": str(row["id"])}
    assert admin_session.post(url, data=form, allow_redirects=False, timeout=60).status_code == 403
    assert quiet(platform, "rl-cat") == 0
    # the admin sends it again: the platform gets it once
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    r = admin_session.post(url, data={**form, "_xsrf": xsrf}, allow_redirects=False, timeout=60)
    assert r.status_code == 303, r.text[-500:]
    [score] = wait_scores(platform, "rl-cat", 1)
    assert score["userId"] == "cat" and quiet(platform, "rl-cat") == 0
    assert not [p for p in passbacks(lms, "failed") if p["user"] == "cat"]
    again = admin_session.post(url, data={**form, "_xsrf": xsrf}, timeout=60)
    assert again.status_code == 400 and "is not failed" in again.text


def test_a_passback_in_korean(lms, admin_session):
    r = admin_session.get(f"{lms.hub.service_url('lms')}/lti/passbacks", timeout=60,
                          headers={"Accept-Language": "ko"})
    assert r.status_code == 200, r.text[-500:]
    for text in ("성적 전송", "실패", "대기 중", "마지막 오류"):
        assert text in r.text, text


def launch_body(platform, user: str, **change) -> dict:
    return {"user": user, "course": "dl-basics", "lesson": LESSON,
            "lineitem": platform.lineitem_url(f"rl-{user}"),
            "scope": [SCORE_SCOPE], "issuer": platform.issuer, "client_id": platform.client_id,
            "deployment_id": platform.deployment_id, "context": {"id": "ctx-101"}, **change}


def test_who_may_record_launches(lms, platform):
    lms.group("pb-cohort", "lea")
    lms.group("pb-cohort-instructors", "ivo")
    body = launch_body(platform, "lea")
    assert lms.call("POST", "/lti/launches", None, json=body).status_code == 401
    for user in ("lea", "ivo"):  # a learner could otherwise aim their scores anywhere
        r = lms.call("POST", "/lti/launches", user, json=body)
        assert r.status_code == 403, (user, r.text)
        assert lms.call("GET", "/lti/passbacks", user).status_code == 403
    complete(lms, "lea")
    assert quiet(platform, "rl-lea") == 0
    r = lms.call("POST", "/lti/launches", "admin", json=body)  # an admin may
    assert r.status_code == 200 and r.json()["queued"] is True, r.text
    [score] = wait_scores(platform, "rl-lea", 1)  # work done before the launch counts
    assert score["userId"] == "lea"


@pytest.mark.parametrize("change, field", [
    ({"lineitem": "javascript:alert(1)"}, "lineitem"),
    ({"lesson": "dl-basics/no-such-lesson"}, "lesson"),
    ({"lesson": "other-course/python-basics"}, "lesson"),
    ({"course": "no-such-course", "lesson": ""}, "course"),
    ({"scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"]}, "scope"),
    ({"client_id": "another-tool"}, "client_id"),
    ({"grade": 100}, "grade"),
])
def test_bad_launches_are_refused_naming_the_field(lms, platform, zoe, change, field):
    r = lms.call("POST", "/lti/launches", "admin", json=launch_body(platform, "zoe", **change))
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith(f"{field}:"), r.text
    # nothing stored: a launch of zoe's would have queued her completed lesson's score
    assert not [p for p in passbacks(lms, "pending") + passbacks(lms, "delivered")
                if p["user"] == "zoe"]
    assert not scores(platform, "rl-zoe")


@pytest.fixture(scope="module")
def zoe(lms):
    lms.token("zoe")
    complete(lms, "zoe")
