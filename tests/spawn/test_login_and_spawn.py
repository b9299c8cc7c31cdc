"""A learner signs up, logs in, picks a lesson and lands in JupyterLab inside its image."""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

from ..conftest import docker
from .accounts import login, open_lesson


def test_spawn_form_lists_lessons_escaped(hub):
    session = login(hub.url, "formviewer")
    page = session.get(f"{hub.url}/hub/spawn", timeout=30)
    assert page.status_code == 200
    for title in ("Python basics", "NumPy basics", "Exploring data with pandas"):
        assert title in page.text
    assert 'value="dl-basics/numpy-basics"' in page.text
    # titles from the content repo are escaped, never injected as markup
    assert "<script>alert('title')</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "Policy &lt;check&gt; &amp; &#34;escaping&#34;" in page.text


def test_learner_logs_in_and_lands_in_lesson(hub, run_id):
    session = login(hub.url, "ada")
    # a spawn link with the lesson as a query option, as the course page would give
    r = open_lesson(hub.url, session, "ada", "dl-basics/numpy-basics")
    assert r.status_code == 200, r.text[-2000:]
    assert urlparse(r.url).path == "/user/ada/lab/tree/dl-basics/02-numpy/numpy-basics.ipynb", r.url
    assert "JupyterLab" in r.text

    # the notebook is in the learner's home, served by the server's contents API
    nb = session.get(
        f"{hub.url}/user/ada/api/contents/dl-basics/02-numpy/numpy-basics.ipynb", timeout=30
    )
    assert nb.status_code == 200
    assert nb.json()["content"]["cells"][0]["source"].startswith("# NumPy basics")

    # ... inside a container of the lesson's image
    info = json.loads(docker("inspect", f"lms-test-{run_id}-ada"))[0]
    assert info["Config"]["Image"] == "lms/scipy:latest"
    env = dict(item.split("=", 1) for item in info["Config"]["Env"])
    assert env["LMS_COURSE"] == "dl-basics"
    assert env["LMS_LESSON"] == "numpy-basics"
    assert re.fullmatch(r"[0-9a-f]{40}", env["LMS_CONTENT_VERSION"])
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/home/jovyan"]["Name"] == f"lms-test-{run_id}-home-ada"

    # the server extension reports the lesson it brought in
    ctx = session.get(f"{hub.url}/user/ada/lms/api/context", timeout=30).json()
    assert ctx["lesson"] == "numpy-basics"
    assert ctx["materialized"] == {"from": "learner repo", "version": env["LMS_CONTENT_VERSION"]}
    assert env["LMS_LEARNER_REPO"] == "/srv/lms/learner/dl-basics.git"
    assert mounts["/srv/lms/learner/dl-basics.git"]["RW"] is False
    hub.stop_server("ada")
