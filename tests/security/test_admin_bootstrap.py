"""Attack: become hub admin by signing up first under a name that the configuration makes admin.

The hub runs with open sign-up and ``LMS_ADMIN_USERS``; a stranger fires sign-ups for the admin
name from the moment the hub's address answers, while it is still starting. The hub must have made
the admin account itself (a generated password, printed once on its console) before it serves
any request, so every such sign-up is refused and the stranger never logs in as admin.
"""

from __future__ import annotations

import html
import re
import threading
import time

import pytest
import requests

from ..hubctl import Hub
from ..spawn.accounts import PASSWORD, log_in, login, printed_passwords

ADMIN = "headteacher"
ATTACKER_PASSWORD = "first-come-Passw0rd-42"


def _alert(page: requests.Response) -> str:
    match = re.search(r'role="alert">(.*?)</div>', page.text, re.DOTALL)
    assert match, (page.status_code, page.url, re.sub(r"\s+", " ", page.text)[:3000])
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(1))).strip())


def _xsrf(session: requests.Session, url: str) -> str | None:
    page = session.get(url, timeout=5)
    match = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    return match.group(1) if page.status_code == 200 and match else None


def _signup(session: requests.Session, hub_url: str, name: str, password: str):
    """Fetch the sign-up form and post it at once; None while the hub does not serve it yet."""
    try:
        token = _xsrf(session, f"{hub_url}/hub/signup")
        if token is None:
            return None
        return session.post(
            f"{hub_url}/hub/signup",
            data={"_xsrf": token, "username": name, "signup_password": password,
                  "signup_password_confirmation": password},
            timeout=30,
        )
    except requests.RequestException:
        return None


def _login_fails(hub_url: str, name: str, password: str) -> None:
    session = requests.Session()
    r = session.post(
        f"{hub_url}/hub/login",
        data={"_xsrf": _xsrf(session, f"{hub_url}/hub/login"), "username": name,
              "password": password},
        timeout=30,
    )
    assert r.url.endswith("/hub/login") and "Invalid username or password" in r.text, r.url
    assert session.get(f"{hub_url}/hub/api/user", timeout=30).status_code == 403


def _whoami(hub_url: str, session: requests.Session) -> dict:
    """The logged-in user's model, from the hub's REST API with the browser session's cookie."""
    r = session.get(f"{hub_url}/hub/api/user", timeout=30,
                    headers={"X-XSRFToken": session.cookies.get("_xsrf", "")})
    assert r.status_code == 200, r.text
    return r.json()


def _log_since_last_start(hub: Hub) -> str:
    return hub.log_path.read_text(errors="replace").rsplit("===== hub start", 1)[-1]


@pytest.fixture(scope="module")
def raced(content_remote, run_id, tmp_path_factory):
    """A hub with an admin name and open sign-up, and the attacker's sign-ups for that name
    fired from before it answers: (hub, [(name sent, response), ...], tries before it answered)."""
    hub = Hub(tmp_path_factory.mktemp("admin-bootstrap"), str(content_remote), f"{run_id}-adm",
              {"LMS_ADMIN_USERS": ADMIN, "LMS_OPEN_SIGNUP": "1"})
    failure: list[BaseException] = []

    def start():
        try:
            hub.start()
        except BaseException as error:  # reported below, in the test's thread
            failure.append(error)

    starter = threading.Thread(target=start)
    starter.start()
    answers = []
    too_early = 0
    attacker = requests.Session()
    deadline = time.monotonic() + 120
    while (starter.is_alive() or len(answers) < 4) and time.monotonic() < deadline:
        if failure:
            break
        # the configured name, and the same name as the hub normalizes it
        for name in (ADMIN, ADMIN.upper()):
            answer = _signup(attacker, hub.url, name, ATTACKER_PASSWORD)
            if answer is not None:
                answers.append((name, answer))
            elif not answers:
                too_early += 1
        time.sleep(0.02)
    starter.join()
    if failure:
        hub.stop()
        raise failure[0]
    yield hub, answers, too_early
    hub.stop()


@pytest.fixture
def hub(raced):
    """The raced hub (its log is attached to a failing test's report)."""
    return raced[0]


def test_signing_up_first_under_the_admin_name_is_refused(hub, raced):
    _, answers, too_early = raced
    # the attacker was knocking before the hub served anything, and fired at its first answer
    assert too_early > 0 and answers, (too_early, len(answers))
    for name, answer in answers:
        assert answer.status_code == 403, (name, answer.status_code, answer.text[-1500:])
        assert "the user name 'headteacher' is reserved for an administrator" in _alert(answer)
    for name in (ADMIN, ADMIN.upper()):
        _login_fails(hub.url, name, ATTACKER_PASSWORD)

    # the hub made the admin account before it served its first request
    log = hub.log_path.read_text(errors="replace")
    assert len(printed_passwords(log, ADMIN)) == 1, hub.log_tail(80)
    assert log.index(f"user name: {ADMIN}") < log.index("GET /hub/signup"), hub.log_tail(80)

    # the only user of that name is the configured admin, and no other admin came to be
    model = hub.api("GET", f"/users/{ADMIN}").json()
    assert model["admin"] is True and model["name"] == ADMIN
    assert hub.api("GET", f"/users/{ADMIN.upper()}").status_code == 404
    users = hub.api("GET", "/users").json()
    assert [u["name"] for u in users if u["admin"]] == [ADMIN]


def test_the_password_printed_once_logs_in_as_admin(hub):
    (password,) = printed_passwords(hub.log_path.read_text(errors="replace"), ADMIN)
    assert len(password) >= 16 and password != ATTACKER_PASSWORD
    session = log_in(hub.url, ADMIN, password)
    me = _whoami(hub.url, session)
    assert me["name"] == ADMIN and me["admin"] is True


def test_an_admin_made_in_the_admin_panel_cannot_be_claimed(hub):
    # the admin adds another admin with the admin panel's API call, as the admin page does
    admin = log_in(hub.url, ADMIN, printed_passwords(hub.log_path.read_text(errors="replace"),
                                                     ADMIN)[-1])
    r = admin.post(f"{hub.url}/hub/api/users/deputy", json={"admin": True}, timeout=30,
                   headers={"X-XSRFToken": admin.cookies.get("_xsrf", "")})
    assert r.status_code == 201, r.text
    answer = _signup(requests.Session(), hub.url, "deputy", ATTACKER_PASSWORD)
    assert answer is not None and answer.status_code == 403
    assert "the user name 'deputy' belongs to an administrator" in _alert(answer)
    _login_fails(hub.url, "deputy", ATTACKER_PASSWORD)
    # a learner the admin added ahead of time still signs up as usual
    assert hub.api("POST", "/users/early-learner").status_code == 201
    assert _whoami(hub.url, login(hub.url, "early-learner"))["admin"] is False


def test_admin_changes_the_password_and_it_is_not_printed_again_after_a_restart(hub):
    (printed,) = printed_passwords(hub.log_path.read_text(errors="replace"), ADMIN)
    session = log_in(hub.url, ADMIN, printed)
    new = "headteacher-own-Passw0rd"
    r = session.post(
        f"{hub.url}/hub/change-password",
        data={"_xsrf": _xsrf(session, f"{hub.url}/hub/change-password"),
              "old_password": printed, "new_password": new, "new_password_confirmation": new},
        timeout=30,
    )
    assert "changed successfully" in _alert(r)

    hub.restart()
    assert "password:" not in _log_since_last_start(hub), hub.log_tail(80)
    assert printed_passwords(hub.log_path.read_text(errors="replace"), ADMIN) == [printed]
    _login_fails(hub.url, ADMIN, printed)
    assert _whoami(hub.url, log_in(hub.url, ADMIN, new))["admin"] is True


def test_a_lost_admin_password_is_replaced_only_when_configured(hub):
    hub.env["LMS_RESET_ADMIN_PASSWORDS"] = ADMIN
    try:
        hub.restart()
    finally:
        del hub.env["LMS_RESET_ADMIN_PASSWORDS"]
    printed = printed_passwords(_log_since_last_start(hub), ADMIN)
    assert len(printed) == 1, hub.log_tail(80)
    _login_fails(hub.url, ADMIN, "headteacher-own-Passw0rd")
    assert _whoami(hub.url, log_in(hub.url, ADMIN, printed[0]))["admin"] is True

    hub.restart()
    assert "password:" not in _log_since_last_start(hub), hub.log_tail(80)
    assert _whoami(hub.url, log_in(hub.url, ADMIN, printed[0]))["admin"] is True


def test_learners_still_sign_up_and_taken_names_are_refused(hub):
    me = _whoami(hub.url, login(hub.url, "newlearner"))
    assert me["name"] == "newlearner" and me["admin"] is False
    answer = _signup(requests.Session(), hub.url, "newlearner", ATTACKER_PASSWORD)
    assert answer is not None and answer.status_code == 409
    assert "already in use" in _alert(answer)
    _login_fails(hub.url, "newlearner", ATTACKER_PASSWORD)
    log_in(hub.url, "newlearner", PASSWORD)
