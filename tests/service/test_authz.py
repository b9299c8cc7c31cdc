"""Who may see what: the route table needs auth everywhere; learners, instructors and tokens."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
import requests

from lms_extension.service.check_pages import check_routes
from lms_extension.service.dashboard import OAuthCallback, PageHandler, dashboard_routes
from lms_extension.service.handlers import WebhookHandler, routes
from lms_extension.service.learner_pages import learner_routes
from lms_extension.service.passback_pages import lti_routes
from lms_extension.service.search_pages import search_page_routes
from lms_extension.service.staff import staff_routes

from .conftest import event

SAMPLES = {r"([^/]+)": "someone", r"([a-z0-9][a-z0-9-]{0,62})": "dl-basics"}
BASE = "/services/lms/"
ALL_ROUTES = (routes(BASE) + dashboard_routes(BASE) + search_page_routes(BASE)
              + staff_routes(BASE) + learner_routes(BASE) + check_routes(BASE)
              + lti_routes(BASE))
METHODS = ("get", "post", "put", "delete", "patch")


def route_table():
    """(method, path) of every route of the service, with sample values for its parameters."""
    for pattern, handler in ALL_ROUTES:
        path = pattern
        for group, sample in SAMPLES.items():
            path = path.replace(group, sample)
        path = path.replace("\\", "").replace("/?", "/").replace("//", "/")
        assert "(" not in path, f"no sample value for a parameter of {pattern}"
        for method in METHODS:
            if any(method in cls.__dict__ for cls in handler.__mro__
                   if cls.__module__.startswith(("lms_extension", "jupyterhub"))):
                yield method.upper(), path, handler


ROUTES = list(route_table())


@pytest.mark.parametrize("method, path, handler", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_no_route_answers_without_credentials(lms, method, path, handler):
    url = f"{lms.hub.url}{path}"
    for headers in ({}, {"Authorization": "token not-a-real-token"}):
        r = requests.request(method, url, headers=headers, json={}, timeout=30,
                             allow_redirects=False)
        if issubclass(handler, PageHandler) and method != "GET":  # a form post: refused
            assert r.status_code == 403, (method, path, r.status_code)
        elif issubclass(handler, PageHandler):  # pages send the browser to the hub's login
            assert r.status_code == 302, (method, path, r.status_code)
            assert "/hub/" in r.headers["Location"], r.headers["Location"]
        elif handler is OAuthCallback:  # no OAuth state, no login
            assert 400 <= r.status_code < 500, (method, path, r.status_code)
        elif handler is WebhookHandler:
            assert r.status_code in (401, 403), (method, path, r.status_code, r.text)
        else:
            assert r.status_code == 401, (method, path, r.status_code, r.text)


def test_every_route_is_in_the_route_walk():
    assert len({p for _, p, _ in ROUTES}) == len(ALL_ROUTES)


def test_the_webhook_needs_the_secrets_signature(lms):
    url = f"{lms.api_url}/content/webhook"
    body = b'{"ref": "refs/heads/main"}'
    forged = "sha256=" + hmac.new(b"guess", body, hashlib.sha256).hexdigest()
    r = requests.post(url, data=body, headers={"X-Hub-Signature-256": forged}, timeout=30)
    assert r.status_code in (401, 403)


@pytest.fixture(scope="module")
def people(lms):
    lms.group("cohort-a", "amy", "bob")
    lms.group("cohort-b", "cal")
    lms.group("cohort-b-instructors", "tia")
    lms.call("PUT", "/cohorts/cohort-a", "admin",
             json={"course": "dl-basics", "start": "2026-01-01T00:00:00Z"})
    lms.call("PUT", "/cohorts/cohort-b", "admin",
             json={"course": "dl-basics", "start": "2026-01-01T00:00:00Z"})
    lms.events("bob", event("lesson_opened", "python-basics"))
    return lms


@pytest.mark.parametrize("who, method, path, body", [
    ("amy", "GET", "/progress/bob", None),
    ("amy", "GET", "/courses/dl-basics/progress", None),
    ("amy", "GET", "/surveys/dl-basics/python-basics/results", None),
    ("amy", "GET", "/cohorts/cohort-a", None),
    ("amy", "PUT", "/cohorts/cohort-a", {"course": "dl-basics", "start": "2026-01-01T00:00:00Z"}),
    ("amy", "PUT", "/cohorts/cohort-a/extensions/amy", {"days": 30}),
    ("amy", "POST", "/deadlines/run", None),
    ("amy", "POST", "/content/sync", None),
    ("tia", "GET", "/progress/bob", None),
    ("tia", "GET", "/cohorts/cohort-a", None),
    ("tia", "PUT", "/cohorts/cohort-a/extensions/bob", {"days": 3}),
    ("tia", "PUT", "/cohorts/cohort-b", {"course": "dl-basics", "start": "2026-01-01T00:00:00Z"}),
    ("tia", "DELETE", "/cohorts/cohort-b", None),
])
def test_forbidden(people, who, method, path, body):
    r = people.call(method, path, who, json=body)
    assert r.status_code == 403, r.text
    assert who in r.json()["message"] or "admins" in r.json()["message"]


def test_what_each_role_does_see(people):
    assert people.call("GET", "/progress/bob", "bob").status_code == 200
    assert people.call("GET", "/progress/cal", "tia").status_code == 200
    assert people.call("GET", "/progress/bob", "admin").status_code == 200
    matrix = people.call("GET", "/courses/dl-basics/progress", "tia").json()["learners"]
    assert "cal" in matrix and not {"amy", "bob"} & set(matrix)
    cohorts = people.call("GET", "/cohorts", "tia").json()["cohorts"]
    assert [c["group"] for c in cohorts] == ["cohort-b"]
    assert people.call("GET", "/cohorts", "amy").json()["cohorts"] == []
    admin_matrix = people.call("GET", "/courses/dl-basics/progress", "admin").json()["learners"]
    assert {"amy", "bob", "cal"} <= set(admin_matrix)


def test_openapi_document_lists_every_route(lms):
    doc = lms.call("GET", "/openapi.json", "amy").json()
    assert doc["openapi"].startswith("3.")
    documented = {re.sub(r"\{[^}]+\}", "X", p) for p in doc["paths"]}
    for _, path, handler in ROUTES:
        if "/api" not in path:
            continue
        tail = path.split("/api", 1)[1].replace("someone", "X").replace("dl-basics", "X")
        if tail not in ("/", "/openapi.json"):
            assert tail in documented, tail
