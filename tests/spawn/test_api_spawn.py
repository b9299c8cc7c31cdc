"""The spawn REST API: lessons pick images, the home volume keeps edits, bad requests get 400."""

from __future__ import annotations

import json

import pytest

from ..conftest import docker, run_containers

NOTEBOOK = "dl-basics/01-python/python-basics.ipynb"


def container(run_id: str, user: str, server: str = "") -> dict:
    name = f"lms-test-{run_id}-{user}" + (f"--{server}" if server else "")
    return json.loads(docker("inspect", name))[0]


def start(hub, user: str, lesson: str, server: str = "") -> dict:
    r = hub.start_lesson(user, lesson, server)
    assert r.status_code in (201, 202), r.text
    return hub.wait_ready(user, server)


def test_lessons_switch_images_and_keep_the_learners_edits(hub, run_id):
    hub.create_user("grace")
    start(hub, "grace", "dl-basics/python-basics")
    assert container(run_id, "grace")["Config"]["Image"] == "lms/base:latest"

    # the learner edits lesson 1's notebook
    r = hub.server_request("GET", "grace", f"api/contents/{NOTEBOOK}")
    assert r.status_code == 200, r.text
    model = r.json()
    model["content"]["cells"][1]["source"] = "scores = [1, 2, 3]  # my own data"
    r = hub.server_request(
        "PUT", "grace", f"api/contents/{NOTEBOOK}",
        json={"type": "notebook", "format": "json", "content": model["content"]},
    )
    assert r.status_code == 200, r.text
    first_id = container(run_id, "grace")["Id"]
    hub.stop_server("grace")

    # the next lesson runs in another environment: the other image, a new container
    start(hub, "grace", "dl-basics/numpy-basics")
    info = container(run_id, "grace")
    assert info["Config"]["Image"] == "lms/scipy:latest"
    assert info["Id"] != first_id
    r = hub.server_request("GET", "grace", f"api/contents/{NOTEBOOK}")
    assert r.status_code == 200
    assert r.json()["content"]["cells"][1]["source"] == "scores = [1, 2, 3]  # my own data"
    r = hub.server_request("GET", "grace", "api/contents/dl-basics/02-numpy/numpy-basics.ipynb")
    assert r.status_code == 200

    # a lesson in another environment can also run beside it as a named server
    start(hub, "grace", "dl-basics/python-basics", server="python")
    assert container(run_id, "grace", "python")["Config"]["Image"] == "lms/base:latest"
    r = hub.server_request("GET", "grace", f"api/contents/{NOTEBOOK}", server="python")
    assert r.json()["content"]["cells"][1]["source"] == "scores = [1, 2, 3]  # my own data"

    # restarting lesson 1 keeps the edited copy rather than the course's original
    hub.stop_server("grace", "python")
    start(hub, "grace", "dl-basics/python-basics", server="python")
    r = hub.server_request("GET", "grace", f"api/contents/{NOTEBOOK}", server="python")
    assert r.json()["content"]["cells"][1]["source"] == "scores = [1, 2, 3]  # my own data"
    ctx = hub.server_request("GET", "grace", "lms/api/context", server="python").json()
    # the course came from its learner repo, at the version the server was started for
    assert ctx["materialized"] == {"from": "learner repo", "version": ctx["content_version"]}
    hub.stop_server("grace", "python")
    hub.stop_server("grace")


@pytest.mark.parametrize(
    "body, words",
    [
        ({"lesson": "no-such-course/intro"}, ["unknown course", "no-such-course"]),
        ({"lesson": "dl-basics/no-such-lesson"}, ["no lesson", "no-such-lesson"]),
        ({"lesson": "policy-check/bad-image"}, ["untrusted/image:latest", "allowed-image policy"]),
        ({"lesson": "dl-basics/numpy-basics", "image": "evil/miner"}, ["'image'", "not accepted"]),
        ({"image": "lms/scipy:latest"}, ["'image'", "not accepted"]),
        ({"lesson": ["dl-basics/numpy-basics"]}, ["lesson", "course/lesson"]),
        ({"lesson": "dl-basics/numpy-basics", "cpu": 64}, ["unknown user option", "'cpu'"]),
    ],
)
def test_bad_spawn_requests_get_400_and_leave_nothing(hub, run_id, body, words):
    hub.create_user("mallory")
    r = hub.start_lesson("mallory", None, body=body)
    assert r.status_code == 400, r.text
    message = r.json()["message"]
    for word in words:
        assert word in message, message
    assert not [n for n in run_containers(run_id) if n.startswith(f"lms-test-{run_id}-mallory")]
    servers = hub.api("GET", "/users/mallory").json()["servers"]
    assert servers == {}


def test_server_survives_hub_restart(hub, run_id):
    hub.create_user("linus")
    start(hub, "linus", "dl-basics/pandas-exploration")
    assert hub.server_request("GET", "linus", "api/status").status_code == 200
    before = container(run_id, "linus")["Id"]

    hub.restart()

    assert container(run_id, "linus")["State"]["Running"]
    assert container(run_id, "linus")["Id"] == before
    r = hub.server_request("GET", "linus", "api/contents/dl-basics/03-pandas")
    assert r.status_code == 200, r.text
    assert hub.api("GET", "/users/linus").json()["servers"][""]["ready"]
    hub.stop_server("linus")
