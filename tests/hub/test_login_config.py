"""hub_config selects the login by LMS_AUTHENTICATOR: local accounts, GitHub or generic OAuth."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests

from ..hubctl import Hub


def _hub(tmp_path, content_remote, run_id, env) -> Hub:
    return Hub(tmp_path, str(content_remote), run_id, env)


def test_github_login_redirects_to_github(tmp_path, content_remote, run_id):
    hub = _hub(tmp_path, content_remote, run_id, {
        "LMS_AUTHENTICATOR": "github",
        "OAUTH_CLIENT_ID": "course-client",
        "OAUTH_CLIENT_SECRET": "not-used-here",
        "OAUTH_CALLBACK_URL": "http://127.0.0.1/hub/oauth_callback",
        "LMS_GITHUB_ORGS": "our-university",
    })
    hub.start()
    try:
        r = requests.get(f"{hub.url}/hub/oauth_login", allow_redirects=False, timeout=30)
        assert r.status_code == 302
        target = urlparse(r.headers["Location"])
        assert (target.netloc, target.path) == ("github.com", "/login/oauth/authorize")
        query = parse_qs(target.query)
        assert query["client_id"] == ["course-client"]
        assert "read:org" in query["scope"][0]  # needed to check organization membership
    finally:
        hub.stop()


def test_generic_oauth_login_uses_configured_provider(tmp_path, content_remote, run_id):
    hub = _hub(tmp_path, content_remote, run_id, {
        "LMS_AUTHENTICATOR": "generic",
        "OAUTH_CLIENT_ID": "course-client",
        "OAUTH_CLIENT_SECRET": "not-used-here",
        "OAUTH_CALLBACK_URL": "http://127.0.0.1/hub/oauth_callback",
        "LMS_OAUTH_AUTHORIZE_URL": "https://sso.example.edu/oauth2/authorize",
        "LMS_OAUTH_TOKEN_URL": "https://sso.example.edu/oauth2/token",
        "LMS_OAUTH_USERDATA_URL": "https://sso.example.edu/oauth2/userinfo",
        "LMS_OAUTH_ALLOWED_GROUPS": "students,instructors",
    })
    hub.start()
    try:
        r = requests.get(f"{hub.url}/hub/oauth_login", allow_redirects=False, timeout=30)
        assert r.status_code == 302
        target = urlparse(r.headers["Location"])
        assert target.netloc == "sso.example.edu" and target.path == "/oauth2/authorize"
        assert parse_qs(target.query)["scope"] == ["openid profile email"]
    finally:
        hub.stop()


def test_unknown_authenticator_is_refused_by_name(tmp_path, content_remote, run_id):
    hub = _hub(tmp_path, content_remote, run_id, {"LMS_AUTHENTICATOR": "ldapp"})
    with pytest.raises(RuntimeError, match="LMS_AUTHENTICATOR='ldapp' is not one of"):
        hub.start(timeout=30)
