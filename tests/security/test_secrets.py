"""Attack: read the hub side's secrets from where learners and logs can see them.

The content repo URL carries credentials (a password and a query token), and its fetch fails, so
every place that reports the failure is tried: the spawn form, the spawn API's error, the LMS
service's ``api/content`` (as a learner and as an admin), the admin's dashboard, and the log of
the hub and the service. The hub database, the LMS database (with its WAL) and the cookie secret
must be readable by their owner only, and so must the mirrors whose git config holds the URL.
"""

from __future__ import annotations

import html
import stat
import time
from urllib.parse import quote

import pytest
import requests

from lms_extension.content.redact import redact, redact_url, url_secrets

from ..hubctl import Hub, free_port
from ..spawn.accounts import admin_login, login

PASSWORD = "s3cr3t-token"
QUERY_TOKEN = "q-s3cr3t-77"
ADMIN = "keeper"
# a learner who would copy the error into a forum post
LEARNER = "lena"


def secret_forms() -> list[str]:
    return [PASSWORD, QUERY_TOKEN, quote(PASSWORD, safe=""), "s3cr3t"]


def assert_no_secret(text: str, where: str) -> None:
    for secret in secret_forms():
        assert secret not in text, f"{secret!r} shows in {where}:\n{text[-3000:]}"


@pytest.fixture(scope="module")
def leaky_hub(tmp_path_factory, run_id):
    url = (f"http://learner:{PASSWORD}@127.0.0.1:{free_port()}/content.git"
           f"?private_token={QUERY_TOKEN}")
    hub = Hub(tmp_path_factory.mktemp("secrets-hub"), url, f"{run_id}-sec",
              {"LMS_ADMIN_USERS": ADMIN})
    hub.start()
    api = f"{hub.service_url('lms')}/api"
    admin = {"Authorization": f"token {hub.token}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the service's first sync fails and says why
        try:
            r = requests.get(f"{api}/content", headers=admin, timeout=10)
            if r.ok and r.json()["refused"]:
                break
        except (requests.ConnectionError, ValueError):
            pass
        time.sleep(0.3)
    else:
        hub.stop()
        raise AssertionError(f"the LMS service reported no refused sync:\n{hub.log_tail(80)}")
    hub.create_user(LEARNER)
    hub.start_lesson(LEARNER, "dl-basics/python-basics")  # the hub's own mirror tries too
    yield hub
    hub.stop()


def test_the_spawn_form_and_the_spawn_error_hide_the_credentials(leaky_hub):
    session = login(leaky_hub.url, LEARNER)
    form = session.get(f"{leaky_hub.url}/hub/spawn", timeout=60)
    text = html.unescape(form.text)
    assert "is not available" in text and "***@127.0.0.1" in text, text[-2000:]
    assert_no_secret(text, "the spawn form")
    r = leaky_hub.start_lesson(LEARNER, "dl-basics/python-basics")
    assert r.status_code == 503, r.text
    assert "***@127.0.0.1" in r.text and "private_token=***" in r.text, r.text
    assert_no_secret(r.text, "the spawn API's error")


def test_the_service_and_its_dashboard_hide_the_credentials(leaky_hub):
    api = f"{leaky_hub.service_url('lms')}/api"
    admin = requests.get(f"{api}/content", headers={"Authorization": f"token {leaky_hub.token}"},
                         timeout=30)
    refused = " ".join(admin.json()["refused"])
    assert "git fetch failed for http://***@127.0.0.1" in refused, refused
    assert "content.git?private_token=***: fatal: unable to access" in refused, refused
    assert_no_secret(admin.text, "api/content (admin)")
    token = leaky_hub.api("POST", f"/users/{LEARNER}/tokens", json={}).json()["token"]
    learner = requests.get(f"{api}/content", headers={"Authorization": f"token {token}"},
                           timeout=30)
    assert learner.status_code == 200 and learner.json()["refused"]
    assert_no_secret(learner.text, "api/content (learner)")
    dashboard = admin_login(leaky_hub, ADMIN).get(f"{leaky_hub.service_url('lms')}/", timeout=30)
    text = html.unescape(dashboard.text)
    assert dashboard.status_code == 200 and "The last sync was refused" in text, text[-2000:]
    assert "***@127.0.0.1" in text
    assert_no_secret(text, "the dashboard")


def test_the_logs_hide_the_credentials(leaky_hub):
    # the hub's console log also holds the LMS service's log (the hub starts the service)
    requests.post(f"{leaky_hub.service_url('lms')}/api/content/sync", timeout=60,
                  headers={"Authorization": f"token {leaky_hub.token}"})
    log = leaky_hub.log_path.read_text(errors="replace")
    assert "content not published" in log and "Content http://***@127.0.0.1" in log, log[-3000:]
    assert_no_secret(log, "the hub and service log")


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_databases_and_cookie_secret_are_for_their_owner_only(leaky_hub):
    state = leaky_hub.state_dir
    hub_db = sorted(state.glob("jupyterhub.sqlite*"))
    lms_db = sorted((state / "lms").glob("lms.sqlite*"))
    assert state / "jupyterhub.sqlite" in hub_db
    # the service keeps its database open in WAL mode: the WAL and shared-memory files exist
    assert {p.name for p in lms_db} >= {"lms.sqlite", "lms.sqlite-wal", "lms.sqlite-shm"}, lms_db
    for path in [*hub_db, *lms_db, state / "jupyterhub_cookie_secret"]:
        assert _mode(path) == 0o600, f"{path} has mode {oct(_mode(path))}"
    # the mirrors' git config holds the URL with its credentials
    for mirror in (state / "content" / "mirror.git", state / "lms" / "lms-content" / "mirror.git"):
        assert PASSWORD in (mirror / "config").read_text()
        assert _mode(mirror) == 0o700, f"{mirror} has mode {oct(_mode(mirror))}"


@pytest.mark.parametrize("url, shown", [
    ("https://ci:tok3n-xyz@git.example/course.git", "https://***@git.example/course.git"),
    ("https://ghp_abcdef123456@github.com/o/c.git", "https://***@github.com/o/c.git"),
    ("https://git.example/c.git?private_token=abc%2F123&ref=x",
     "https://git.example/c.git?private_token=***&ref=***"),
    ("/srv/courses/content.git", "/srv/courses/content.git"),
    ("git@github.com:o/c.git", "git@github.com:o/c.git"),
])
def test_redacted_urls(url, shown):
    assert redact_url(url) == shown
    message = f"fatal: unable to access '{url}/': failed; again: {url}"
    out = redact(message, url)
    assert out.count(shown) == 2, out
    for secret in url_secrets(url):
        assert secret not in out


def test_a_secret_is_masked_outside_urls_too():
    url = "https://ci:p%40ss-w0rd@git.example/c.git"
    out = redact("auth failed for ci with p@ss-w0rd (p%40ss-w0rd)", url)
    assert out == "auth failed for ci with *** (***)"
