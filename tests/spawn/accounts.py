"""Sign up and log in through the hub's real local-account forms."""

from __future__ import annotations

import re
import time
from urllib.parse import urlparse

import requests

PASSWORD = "lesson-demo-Passw0rd"


def _xsrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    page.raise_for_status()
    match = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert match, f"no _xsrf field on {url}"
    return match.group(1)


def login(hub_url: str, name: str) -> requests.Session:
    """Sign up and log in through the hub's real forms (local accounts)."""
    session = requests.Session()
    token = _xsrf(session, f"{hub_url}/hub/signup")
    r = session.post(
        f"{hub_url}/hub/signup",
        data={
            "_xsrf": token,
            "username": name,
            "signup_password": PASSWORD,
            "signup_password_confirmation": PASSWORD,
        },
        timeout=30,
    )
    alert = re.search(r'role="alert">(.*?)</div>', r.text, re.DOTALL)
    assert alert, r.text[-2000:]
    assert "signup was successful" in alert.group(1), alert.group(1)
    return log_in(hub_url, name, PASSWORD, session)


# how the hub prints a new admin account's generated password on its console, once
_PRINTED_PASSWORD = re.compile(r"^ +user name: (\S+)\n +password: +(\S+)$", re.MULTILINE)


def printed_passwords(log_text: str, name: str) -> list[str]:
    """The passwords the hub printed for admin ``name`` in its console log, oldest first."""
    return [password for user, password in _PRINTED_PASSWORD.findall(log_text) if user == name]


def log_in(hub_url: str, name: str, password: str,
           session: requests.Session | None = None) -> requests.Session:
    """Log in through the hub's real login form with an existing account."""
    session = session or requests.Session()
    token = _xsrf(session, f"{hub_url}/hub/login")
    r = session.post(
        f"{hub_url}/hub/login",
        data={"_xsrf": token, "username": name, "password": password},
        timeout=30,
    )
    assert r.status_code == 200 and "/hub/login" not in r.url, r.url
    return session


def admin_login(hub, name: str) -> requests.Session:
    """Log in as a configured admin (LMS_ADMIN_USERS) of a test hub, with the password the hub
    printed when it created the account."""
    passwords = printed_passwords(hub.log_path.read_text(errors="replace"), name)
    assert passwords, f"the hub printed no password for admin {name}:\n{hub.log_tail(60)}"
    return log_in(hub.url, name, passwords[-1])


def open_lesson(hub_url: str, session: requests.Session, user: str, lesson: str,
                timeout: float = 180) -> requests.Response:
    """Follow a spawn link for ``lesson`` until JupyterLab answers (through any pending page)."""
    r = session.get(f"{hub_url}/hub/spawn?lesson={lesson}", timeout=120)
    deadline = time.monotonic() + timeout
    while urlparse(r.url).path.startswith("/hub/spawn-pending/") and time.monotonic() < deadline:
        time.sleep(0.5)
        r = session.get(f"{hub_url}/user/{user}/", timeout=60)
    return r
