"""The pieces of the LTI 1.3 launch that need no hub: names, cohorts, roles, lessons, nonces,
the tool's key, the settings printout, and the test platform's own refusals."""

from __future__ import annotations

import json
import os
import time

import jwt
import pytest
import requests

from lms_spawner.lti import CLAIM, LmsLTI13Authenticator
from lms_spawner.lti_config import main as lti_config_main
from lms_spawner.lti_keys import ensure_tool_key, load_private_key, public_jwk

from .platform import AGS, SCORE_TYPE, LtiPlatform

ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


@pytest.fixture
def auth():
    return LmsLTI13Authenticator(issuer="https://lms.school.example", deployment_ids={"d-1"})


@pytest.mark.parametrize("sub,name", [
    ("Learner.One@School", "learner.one-school"),
    ("  a b\tc ", "a-b-c"),
    ("9f1c2e4a-0000-4000-8000-000000000001", "9f1c2e4a-0000-4000-8000-000000000001"),
    ("../../etc", "etc"),
])
def test_user_names_come_from_sub_made_safe(auth, sub, name):
    assert auth.get_username({"sub": sub}) == name


def test_a_launch_without_a_usable_name_is_refused(auth):
    from ltiauthenticator.lti13.error import LoginError

    with pytest.raises(LoginError, match="sub"):
        auth.get_username({"sub": "@@@"})


def test_cohorts_are_per_issuer_and_context(auth):
    ctx = {CLAIM + "context": {"id": "c-7", "label": "DL 101", "title": "Deep learning"}}
    here = auth.cohort_of({"iss": "https://lms.school.example", **ctx})
    there = auth.cohort_of({"iss": "https://lms.other.example", **ctx})
    assert here.startswith("lti-dl-101-") and there.startswith("lti-dl-101-")
    assert here != there  # the same label at another school is another cohort
    assert auth.cohort_of({"iss": "https://lms.school.example"}) is None  # no context, no cohort


@pytest.mark.parametrize("roles,instructor", [
    ([ROLE + "Learner"], False),
    ([ROLE + "Instructor"], True),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"], True),
    ([ROLE + "Administrator"], True),
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"], False),
    ([], False),
])
def test_context_roles_map_to_instructor_or_learner(auth, roles, instructor):
    assert auth.is_instructor({CLAIM + "roles": roles}) is instructor


def test_the_lesson_comes_from_the_custom_parameter_or_the_target_link(auth):
    assert auth.lesson_of({CLAIM + "custom": {"lesson": "dl-basics/numpy-basics"}}) == \
        "dl-basics/numpy-basics"
    assert auth.lesson_of({CLAIM + "target_link_uri":
                           "https://hub.example/hub/lms/open/dl-basics/python-basics"}) == \
        "dl-basics/python-basics"
    for bad in ("dl-basics", "../x/y", "a/b/c", "https://evil.example/a"):
        assert auth.lesson_of({CLAIM + "custom": {"lesson": bad}}) == ""


def test_a_nonce_is_taken_once(auth):
    exp = time.time() + 300
    assert auth.take_nonce("n-1", exp) is True
    assert auth.take_nonce("n-1", exp) is False
    assert auth.take_nonce("", exp) is False
    assert auth.deployment_allowed("d-1") and not auth.deployment_allowed("d-2")
    assert not auth.deployment_allowed("")


def test_the_tool_key_is_made_once_private_and_verifies_its_jwts(tmp_path):
    path = ensure_tool_key(str(tmp_path))
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    jwk = public_jwk(path)
    assert ensure_tool_key(str(tmp_path)) == path and public_jwk(path) == jwk  # not made anew
    assert "d" not in jwk and jwk["kid"] == jwt.PyJWK(jwk).key_id
    token = jwt.encode({"iss": "tool"}, load_private_key(path), algorithm="RS256")
    assert jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"]) == {"iss": "tool"}


def test_the_settings_printout_names_every_url_the_lms_asks_for(capsys):
    assert lti_config_main(["--url", "https://hub.school.example", "--json"]) == 0
    tool = json.loads(capsys.readouterr().out)["tool"]
    values = set(tool.values())
    for path in ("lti13/oauth_login", "lti13/oauth_callback", "lti13/jwks",
                 "lms/open/<course>/<lesson>"):
        assert f"https://hub.school.example/hub/{path}" in values


@pytest.fixture
def platform():
    p = LtiPlatform().start()
    p.register_tool("http://127.0.0.1:9")
    yield p
    p.stop()


def test_the_platform_refuses_an_unregistered_redirect_uri(platform):
    hint = platform.launch_url().rsplit("/", 1)[-1]
    r = requests.get(platform.authorize_url, timeout=10, params={
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post",
        "prompt": "none", "client_id": platform.client_id, "login_hint": "learner-1",
        "lti_message_hint": hint, "nonce": "n", "state": "s",
        "redirect_uri": "https://evil.example/steal"})
    assert r.status_code == 400 and "redirect_uri" in r.json()["error"]


def test_the_platforms_scores_endpoint_wants_a_token_and_the_score_type(platform):
    url = platform.lineitem_url("rl-1") + "/scores"
    body = json.dumps({"userId": "u", "activityProgress": "Completed",
                       "gradingProgress": "FullyGraded", "timestamp": "2026-01-01T00:00:00Z"})
    r = requests.post(url, data=body, headers={"Content-Type": SCORE_TYPE}, timeout=10)
    assert r.status_code == 401
    platform.tokens_issued["t"] = {"scopes": [AGS + "score"], "expires": time.time() + 60}
    auth = {"Authorization": "Bearer t"}
    r = requests.post(url, data=body, headers={**auth, "Content-Type": "application/json"},
                      timeout=10)
    assert r.status_code == 415
    platform.fail_next_scores(1)
    r = requests.post(url, data=body, headers={**auth, "Content-Type": SCORE_TYPE}, timeout=10)
    assert r.status_code == 503 and platform.scores == []
    r = requests.post(url, data=body, headers={**auth, "Content-Type": SCORE_TYPE}, timeout=10)
    assert r.status_code == 204
    (score,) = platform.wait_for_scores(1, timeout=1)
    assert score.lineitem == platform.lineitem_url("rl-1") and score.body["userId"] == "u"
    assert len(platform.score_attempts) == 4
