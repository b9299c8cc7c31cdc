"""A learner signs up, logs in, picks a lesson and lands in JupyterLab inside its image."""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

import requests

from ..conftest import docker

PASSWORD = "lesson-demo-Passw0rd"


def _xsrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    page.raise_for_status()
    match = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert match, f"no _xsrf field on {url}"
    return match.group(1)


def login(hub, name: str) -> requests.Session:
    """Sign up and log in through the hub's real forms (local accounts)."""
    session = requests.Session()
    token = _xsrf(session, f"{hub.url}/hub/signup")
    r = session.post(
        f"{hub.url}/hub/signup",
        data={
            "_xsrf": token,
            "username": name,
            "signup_password": PASSWORD,
            "signup_password_confirmation": PASSWORD,
        },
        timeout=30,
    )
    alert = re.search(r'role="alert">(.*?)</div>', r.text, re.S)
    assert alert, r.text[-2000:]
    assert "signup was successful" in alert.group(1), alert.group(1)
    token = _xsrf(session, f"{hub.url}/hub/login")
    r = session.post(
        f"{hub.url}/hub/login",
        data={"_xsrf": token, "username": name, "password": PASSWORD},
        timeout=30,
    )
    assert r.status_code == 200 and "/hub/login" not in r.url, r.url
    return session


def test_spawn_form_lists_lessons_escaped(hub):
    session = login(hub, "formviewer")
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
    session = login(hub, "ada")
    # a spawn link with the lesson as a query option, as the course page would give
    r = session.get(f"{hub.url}/hub/spawn?lesson=dl-basics/numpy-basics", timeout=120)
    if "/spawn-pending/" in r.url:  # slow start: wait, then follow the server link
        hub.wait_ready("ada")
        r = session.get(f"{hub.url}/user/ada/", timeout=60)
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
    assert mounts["/srv/lms/content"]["RW"] is False

    # the server extension reports the lesson it brought in
    ctx = session.get(f"{hub.url}/user/ada/lms/api/context", timeout=30).json()
    assert ctx["lesson"] == "numpy-basics"
    assert "dl-basics/02-numpy/numpy-basics.ipynb" in ctx["materialized"]["copied"]
    hub.stop_server("ada")
