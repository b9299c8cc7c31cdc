"""The answer keys of knowledge checks never reach a lesson container.

A hostile learner, from their kernel in a real lesson container, looks for the keys everywhere:
the home folder, the mounts under /srv/lms and the learner repo's whole history, the
environment, and what the server extension and the LMS service answer with the server's own
token (questions, catalog, outline, a graded attempt). The keys carry markers found nowhere
else."""

from __future__ import annotations

import json
import shutil

import pytest

from ..conftest import publish
from ..hubctl import ROOT, Hub
from .kernel import Kernel

TEXT_KEY = "quokka-marker-5521"
NUMBER_KEY = "48151.62342"
CHECKS = f"""\
title: Keys stay on the hub
questions:
  - id: word
    type: text
    text: The secret word?
    answer: [{TEXT_KEY}]
  - id: number
    type: numeric
    text: The secret number?
    answer: {NUMBER_KEY}
    tolerance: 0.00001
  - id: pick
    type: single
    text: Which one?
    options: [left, right]
    answer: right
"""

HUNT = r"""
import glob, json, os, subprocess, urllib.request
MARKERS = __MARKERS__
found = {"files": [], "git": [], "env": [], "http": {}}
for top in (os.path.expanduser("~"), "/srv/lms", "/tmp", os.getcwd()):
    for root, dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(root, name)
            try:
                data = open(path, "rb").read(2_000_000)
            except OSError:
                continue
            if any(m.encode() in data for m in MARKERS) or name.endswith(".yaml") and "checks" in path:
                found["files"].append(path)
for repo in glob.glob("/srv/lms/learner/*.git"):
    git = ["git", "--git-dir", repo]
    log = subprocess.run(git + ["log", "--all", "-p", "--name-only"], capture_output=True,
                         text=True).stdout
    found["git"] += [m for m in MARKERS if m in log]
    if "checks/" in log:
        found["git"].append("checks/ in " + repo)
found["env"] = [k for k, v in os.environ.items() if any(m in v for m in MARKERS)]
token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
found["has_token"] = bool(token)
from urllib.parse import urlsplit
port = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8888/")).port or 8888
prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
ext = f"http://127.0.0.1:{port}{prefix}lms/api"
service = os.environ.get("LMS_SERVICE_URL", "").rstrip("/")
calls = {
    "ext-checks": (f"{ext}/checks/dl-basics/python-basics", None),
    "ext-post": (f"{ext}/checks/dl-basics/python-basics",
                 {"answers": {"word": "guess", "number": 1, "pick": "left"}}),
    "ext-outline": (f"{ext}/outline", None),
    "svc-checks": (f"{service}/api/checks/dl-basics/python-basics", None),
    "svc-post": (f"{service}/api/checks/dl-basics/python-basics",
                 {"answers": {"word": "guess", "number": 1, "pick": "left"}}),
    "svc-catalog": (f"{service}/api/catalog", None),
    "svc-results": (f"{service}/api/checks/dl-basics/python-basics/results", None),
}
for name, (url, body) in calls.items():
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": f"token {token}",
                                          "Content-Type": "application/json"},
                                 method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    except Exception as e:
        status, text = 0, repr(e)
    found["http"][name] = {"status": status, "leaks": [m for m in MARKERS if m in text],
                           "text": text[:300]}
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def hub(docker_engine, run_id, tmp_path_factory):
    src = tmp_path_factory.mktemp("keys-src")
    shutil.copytree(ROOT / "content_repo", src, dirs_exist_ok=True)
    (src / "dl-basics" / "checks").mkdir(exist_ok=True)
    (src / "dl-basics" / "checks" / "python-basics.yaml").write_text(CHECKS)
    remote = tmp_path_factory.mktemp("keys-remote") / "content.git"
    publish(src, remote, "Keys stay on the hub")
    hub = Hub(tmp_path_factory.mktemp("keys-hub"), str(remote), f"{run_id}-keys",
              {"LMS_IDLE_TIMEOUT": "0"})
    hub.start()
    yield hub
    hub.stop()


def test_the_keys_are_nowhere_a_learners_kernel_can_reach(hub):
    hub.create_user("hunter")
    r = hub.start_lesson("hunter", "dl-basics/python-basics")
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("hunter")
    kernel = Kernel(hub, "hunter")
    markers = [TEXT_KEY, NUMBER_KEY]
    result = kernel.run(HUNT.replace("__MARKERS__", json.dumps(markers)), timeout=240)
    kernel.shutdown()
    assert result.status == "ok", result
    found = json.loads(result.stdout)
    assert found["files"] == [], found["files"]
    assert found["git"] == [], found["git"]
    assert found["env"] == [], found["env"]
    http = found["http"]
    for name, answer in http.items():
        assert answer["leaks"] == [], (name, answer)
    # the questions do reach the learner, through the extension and the service alike, and a
    # graded attempt says right or wrong without what was right
    assert found["has_token"], found
    for name in ("ext-checks", "svc-checks"):
        assert http[name]["status"] == 200, (name, http[name])
        assert "The secret word?" in http[name]["text"]
    for name in ("ext-post", "svc-post"):
        assert http[name]["status"] == 200, (name, http[name])
        assert '"passed": false' in http[name]["text"], (name, http[name])
    # the staff results are not the learner's server's to read
    assert http["svc-results"]["status"] == 403, http["svc-results"]
    hub.stop_server("hunter")
