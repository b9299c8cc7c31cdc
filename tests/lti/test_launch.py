"""LTI 1.3 launches from a school's LMS (the test platform, tests/lti/platform.py) into a real
hub with ``LMS_AUTHENTICATOR=lti13``: who is logged in, which cohort they join, where they land,
and the bad launches that must create nothing."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlparse

import jwt
import pytest
import requests

from lms_spawner.lti_keys import load_private_key

from .platform import AGS

LEARNER_ROLE = ("Learner",)
HUB_ENV = {"LMS_ADMIN_USERS": "school-admin"}


def groups_of(hub, user: str) -> list[str]:
    r = hub.api("GET", f"/users/{user}")
    assert r.status_code == 200, (user, r.status_code)
    return r.json()["groups"]


def all_groups(hub) -> dict[str, list[str]]:
    return {g["name"]: g["users"] for g in hub.api("GET", "/groups").json()}


def context(n: str) -> dict:
    return {"id": f"ctx-{n}", "label": f"ML{n}", "title": f"Machine learning {n}"}


def test_a_learners_launch_logs_them_in_and_puts_them_in_the_contexts_cohort(lti_hub,
                                                                              lti_platform):
    session = requests.Session()
    result = lti_platform.launch(session, user="Learner.One@School", roles=LEARNER_ROLE,
                                 context=context("201"))
    assert result.response.status_code == 302, result.response.text[-800:]
    # logged in: the hub's home answers without sending to a login page
    home = session.get(f"{lti_hub.url}/hub/home", timeout=30)
    assert home.status_code == 200 and urlparse(home.url).path == "/hub/home"
    assert "learner.one-school" in home.text
    (cohort,) = groups_of(lti_hub, "learner.one-school")
    assert cohort.startswith("lti-ml201-")
    # the next learner of the same context joins the same cohort; another context, another
    lti_platform.launch(requests.Session(), user="learner-two", context=context("201"))
    lti_platform.launch(requests.Session(), user="learner-three", context=context("202"))
    groups = all_groups(lti_hub)
    assert sorted(groups[cohort]) == ["learner-two", "learner.one-school"]
    (other,) = groups_of(lti_hub, "learner-three")
    assert other != cohort and other.startswith("lti-ml202-")


def test_an_instructors_launch_makes_them_staff_of_the_cohort(lti_hub, lti_platform):
    lti_platform.launch(requests.Session(), user="learner-four", context=context("203"))
    (cohort,) = groups_of(lti_hub, "learner-four")
    for user, role in (("teacher-one", "Instructor"), ("ta-one", "TeachingAssistant")):
        result = lti_platform.launch(requests.Session(), user=user, roles=(role,),
                                     context=context("203"))
        assert result.response.status_code == 302, result.response.text[-800:]
        assert groups_of(lti_hub, user) == [f"{cohort}-instructors"]
    assert sorted(all_groups(lti_hub)[f"{cohort}-instructors"]) == ["ta-one", "teacher-one"]
    # the hub gives the instructors' group its staff role for the cohort (cohort_roles)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        roles = lti_hub.api("GET", "/groups/" + f"{cohort}-instructors").json().get("roles", [])
        if roles:
            break
        time.sleep(1)
    assert roles == [f"lms-staff-{cohort}"]


def test_the_lesson_parameter_lands_in_that_lessons_server(lti_hub, lti_platform):
    session = requests.Session()
    result = lti_platform.launch(session, user="lesson-learner", context=context("204"),
                                 custom={"lesson": "dl-basics/python-basics"})
    assert result.response.status_code == 302
    assert result.response.headers["Location"] == "/hub/lms/open/dl-basics/python-basics"
    r = session.get(f"{lti_hub.url}/hub/lms/open/dl-basics/python-basics", timeout=120)
    deadline = time.monotonic() + 180
    while "/lab" not in urlparse(r.url).path and time.monotonic() < deadline:
        time.sleep(1)
        r = session.get(r.url, timeout=60)
    assert urlparse(r.url).path.endswith("/lab/tree/dl-basics/01-python/python-basics.ipynb"), r.url
    assert r.status_code == 200 and "JupyterLab" in r.text
    servers = lti_hub.api("GET", "/users/lesson-learner").json()["servers"]
    assert [s["user_options"]["lesson"] for s in servers.values()] == ["dl-basics/python-basics"]


BAD_LAUNCHES = [
    # tamper, status, what the answer says
    ("wrong_issuer", 400, "Invalid issuer"),
    ("expired", 400, "Signature has expired"),
    ("bad_signature", 400, "Signature verification failed"),
    ("unknown_deployment", 403, "is not a deployment this hub accepts"),
    ("wrong_audience", 401, "Audience doesn"),
]


@pytest.mark.parametrize("tamper,status,message", BAD_LAUNCHES)
def test_a_bad_launch_gets_a_clear_refusal_and_creates_nothing(lti_hub, lti_platform, tamper,
                                                               status, message):
    user = f"bad-{tamper.replace('_', '-')}"
    session = requests.Session()
    result = lti_platform.launch(session, user=user, tamper=tamper,
                                 context={"id": f"ctx-{tamper}", "label": f"BAD{tamper}"})
    r = result.response
    assert r.status_code == status, (r.status_code, r.text[-800:])
    assert message in r.text
    assert lti_hub.api("GET", f"/users/{user}").status_code == 404
    assert not [g for g in all_groups(lti_hub) if g.startswith(f"lti-bad{tamper}")]
    assert session.get(f"{lti_hub.url}/hub/home", timeout=30).url.startswith(
        f"{lti_hub.url}/hub/login")


def test_a_replayed_launch_is_refused(lti_hub, lti_platform):
    session = requests.Session()
    result = lti_platform.launch(session, user="replay-learner", context=context("205"))
    assert result.response.status_code == 302
    # the same id_token and state, with the cookies the browser held: an eavesdropper's replay
    again = result.replay()
    assert again.status_code == 400, again.text[-800:]
    assert "used before" in again.text
    assert not any(c.name.startswith("jupyterhub-hub-login") for c in again.cookies)


def test_the_tools_key_set_lets_the_platform_grant_an_ags_token(lti_hub, lti_platform):
    """The platform verifies the tool's client assertion with the hub's JWKS URL, the way the
    LMS service asks for a token before it posts a score."""
    keys = requests.get(f"{lti_hub.url}/hub/lti13/jwks", timeout=30).json()["keys"]
    assert [k["kty"] for k in keys] == ["RSA"] and "d" not in keys[0]
    key_path = lti_hub.state_dir / "lti" / "tool-key.pem"
    assert oct(key_path.stat().st_mode & 0o777) == "0o600"
    now = int(time.time())
    assertion = jwt.encode(
        {"iss": lti_platform.client_id, "sub": lti_platform.client_id,
         "aud": lti_platform.token_url, "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex},
        load_private_key(str(key_path)), algorithm="RS256", headers={"kid": keys[0]["kid"]})
    form = {"grant_type": "client_credentials", "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "scope": AGS + "score"}
    r = requests.post(lti_platform.token_url, data=form, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "Bearer"
    # the same assertion again is refused (jti used once)
    assert requests.post(lti_platform.token_url, data=form, timeout=30).status_code == 401


def test_hub_admins_see_what_to_enter_in_the_schools_lms(lti_hub, lti_platform):
    admin = requests.Session()
    assert lti_platform.launch(admin, user="school-admin").response.status_code == 302
    page = admin.get(f"{lti_hub.url}/hub/lms/lti", timeout=30)
    assert page.status_code == 200
    for path in ("/hub/lti13/oauth_login", "/hub/lti13/oauth_callback", "/hub/lti13/jwks"):
        assert f"{lti_hub.url}{path}" in page.text
    assert lti_platform.issuer in page.text
    korean = admin.get(f"{lti_hub.url}/hub/lms/lti", timeout=30,
                       headers={"Accept-Language": "ko-KR,ko"})
    assert "LTI 1.3 설정" in korean.text and "로그인 시작 URL" in korean.text
    learner = requests.Session()
    lti_platform.launch(learner, user="curious-learner")
    assert learner.get(f"{lti_hub.url}/hub/lms/lti", timeout=30).status_code == 403
