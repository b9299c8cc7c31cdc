"""Lesson links open a lesson in a server of its own environment: ``/hub/lms/open/<course>/
<lesson>`` and the spawn link ``/hub/spawn?lesson=`` reuse a ready server of that environment
or start the environment's named server, and never open the lesson in a server that runs
another environment's image."""

from __future__ import annotations

import time
from urllib.parse import urlparse

import pytest
import requests

from ..conftest import docker
from .accounts import login, open_lesson

LEARNER = "opal"


def image_of(run_id: str, user: str, server: str = "") -> str:
    """The image of the container of ``user``'s server (DockerSpawner's names)."""
    name = f"lms-test-{run_id}-{user}" + (f"--{server}" if server else "")
    return docker("inspect", "--format", "{{.Config.Image}}", name)


def lesson_of(hub, user: str, server: str = "") -> str:
    model = hub.api("GET", f"/users/{user}").json()["servers"][server]
    return model["user_options"].get("lesson", "")


def follow_start(hub, session: requests.Session, r: requests.Response, server: str,
                 timeout: float = 180) -> requests.Response:
    """From the spawn-pending page of ``server`` to JupyterLab once it is ready."""
    assert urlparse(r.url).path == f"/hub/spawn-pending/{LEARNER}/{server}", r.url
    hub.wait_ready(LEARNER, server, timeout=timeout)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = session.get(r.url, timeout=60)
        if "/lab" in urlparse(r.url).path:
            return r
        time.sleep(0.5)
    raise AssertionError(f"the spawn-pending page never sent the browser on: {r.url}")


@pytest.fixture(scope="module")
def learner(hub, run_id):
    """A learner whose default server runs a lesson of the ``python`` environment."""
    session = login(hub.url, LEARNER)
    r = open_lesson(hub.url, session, LEARNER, "dl-basics/python-basics")
    assert r.status_code == 200, r.text[-1000:]
    assert image_of(run_id, LEARNER) == "lms/base:latest"
    yield session
    for server in ("scipy", ""):
        if server in hub.api("GET", f"/users/{LEARNER}").json()["servers"]:
            hub.stop_server(LEARNER, server)


def test_a_lesson_link_starts_the_environments_named_server(hub, run_id, learner):
    r = learner.get(f"{hub.url}/hub/lms/open/dl-basics/numpy-basics", timeout=30,
                    allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == "/hub/spawn/opal/scipy?lesson=dl-basics%2Fnumpy-basics"
    r = learner.get(f"{hub.url}/hub/lms/open/dl-basics/numpy-basics", timeout=120)
    r = follow_start(hub, learner, r, "scipy")
    assert urlparse(r.url).path == \
        "/user/opal/scipy/lab/tree/dl-basics/02-numpy/numpy-basics.ipynb", r.url
    assert image_of(run_id, LEARNER, "scipy") == "lms/scipy:latest"
    # the default server still runs its python lesson in its own image
    assert image_of(run_id, LEARNER) == "lms/base:latest"
    assert lesson_of(hub, LEARNER) == "dl-basics/python-basics"


def test_lesson_links_reuse_a_ready_server_of_the_environment(hub, learner):
    # another scipy lesson: the scipy server, at that lesson's notebook
    r = learner.get(f"{hub.url}/hub/lms/open/dl-basics/pandas-exploration", timeout=30,
                    allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == \
        "/user/opal/scipy/lab/tree/dl-basics/03-pandas/pandas-exploration.ipynb"
    # a python lesson: the default server, which runs that environment
    r = learner.get(f"{hub.url}/hub/lms/open/dl-basics/model-to-production", timeout=30,
                    allow_redirects=False)
    assert r.headers["Location"] == \
        "/user/opal/lab/tree/dl-basics/07-production/model-to-production.ipynb"
    page = learner.get(f"{hub.url}{r.headers['Location']}", timeout=60)
    assert page.status_code == 200 and "JupyterLab" in page.text


def test_the_spawn_link_never_opens_a_lesson_in_the_default_servers_other_image(hub, run_id,
                                                                                learner):
    # the default server runs python: the link goes to the running scipy server instead
    for link in ("/hub/spawn?lesson=dl-basics/pandas-exploration",
                 "/hub/spawn/opal?lesson=dl-basics/pandas-exploration"):
        r = learner.get(f"{hub.url}{link}", timeout=30, allow_redirects=False)
        assert r.status_code == 302, (link, r.status_code, r.text[-500:])
        assert r.headers["Location"] == \
            "/user/opal/scipy/lab/tree/dl-basics/03-pandas/pandas-exploration.ipynb", link
    # with no scipy server running, the link starts it, and the default server stays as it was
    hub.stop_server(LEARNER, "scipy")
    r = learner.get(f"{hub.url}/hub/spawn?lesson=dl-basics/numpy-basics", timeout=30,
                    allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == "/hub/spawn/opal/scipy?lesson=dl-basics%2Fnumpy-basics"
    r = learner.get(f"{hub.url}/hub/spawn?lesson=dl-basics/numpy-basics", timeout=120)
    r = follow_start(hub, learner, r, "scipy")
    assert urlparse(r.url).path == \
        "/user/opal/scipy/lab/tree/dl-basics/02-numpy/numpy-basics.ipynb"
    assert image_of(run_id, LEARNER, "scipy") == "lms/scipy:latest"
    assert image_of(run_id, LEARNER) == "lms/base:latest"
    assert lesson_of(hub, LEARNER) == "dl-basics/python-basics"
    # a link for the environment the default server runs opens it there, as before
    r = learner.get(f"{hub.url}/hub/spawn?lesson=dl-basics/python-basics", timeout=30,
                    allow_redirects=False)
    assert r.headers["Location"] == "/user/opal/lab/tree/dl-basics/01-python/python-basics.ipynb"


def test_another_learners_spawn_link_is_refused(hub, learner):
    other = login(hub.url, "onyx")
    r = other.get(f"{hub.url}/hub/spawn/opal?lesson=dl-basics/numpy-basics", timeout=30,
                  allow_redirects=False)
    assert r.status_code in (403, 404), r.status_code
    assert "/user/opal" not in r.headers.get("Location", "")


def test_an_unknown_lesson_is_named(hub, learner):
    r = learner.get(f"{hub.url}/hub/lms/open/dl-basics/no-such-lesson", timeout=30)
    assert r.status_code == 400 and "no-such-lesson" in r.text
    r = learner.get(f"{hub.url}/hub/spawn?lesson=dl-basics/no-such-lesson", timeout=30)
    assert r.status_code == 400 and "no-such-lesson" in r.text
    # nothing was started for it
    assert set(hub.api("GET", f"/users/{LEARNER}").json()["servers"]) == {"", "scipy"}


def test_a_lesson_link_needs_a_login(hub):
    r = requests.get(f"{hub.url}/hub/lms/open/dl-basics/numpy-basics", timeout=30,
                     allow_redirects=False)
    assert r.status_code == 302 and "/hub/login" in r.headers["Location"]
