"""The service follows the content repo: new commits go live, broken ones are refused with the
validator's lines and the previous version stays live; the push webhook needs its signature."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import time
import uuid

import pytest
import requests
from publish_content import publish

from ..hubctl import ROOT, Hub

SECRET = "webhook-secret-for-tests"


@pytest.fixture(scope="module")
def following(tmp_path_factory, run_id):
    src = tmp_path_factory.mktemp("follow-src")
    shutil.copytree(ROOT / "content_repo", src, dirs_exist_ok=True)
    remote = tmp_path_factory.mktemp("follow-remote") / "content.git"
    first = publish(src, remote, "first version")
    hub = Hub(tmp_path_factory.mktemp("follow-hub"), str(remote), f"{run_id}-follow",
              {"LMS_WEBHOOK_SECRET": SECRET})
    hub.start()
    api = f"{hub.service_url('lms')}/api"
    admin = {"Authorization": f"token {hub.token}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{api}/content", headers=admin, timeout=10).json()["version"]:
                break
        except (requests.ConnectionError, ValueError):
            pass
        time.sleep(0.3)
    yield hub, api, admin, src, remote, first
    hub.stop()


def webhook(api: str, body: bytes, secret: str = SECRET) -> requests.Response:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return requests.post(f"{api}/content/webhook", data=body, timeout=60,
                         headers={"X-Hub-Signature-256": signature,
                                  "X-GitHub-Delivery": str(uuid.uuid4())})


def test_broken_commits_are_refused_and_good_ones_go_live(following):
    _, api, admin, src, remote, first = following
    assert requests.get(f"{api}/content", headers=admin).json() == {"version": first,
                                                                     "refused": []}
    manifest = src / "dl-basics" / "course.yaml"
    good_text = manifest.read_text()
    manifest.write_text(good_text.replace("    environment: python\n    due: 7d",
                                          "    environment: quantum\n    due: 7d"))
    broken = publish(src, remote, "a typo in an environment")
    r = webhook(api, b'{"ref": "refs/heads/main", "after": "%s"}' % broken.encode())
    assert r.status_code == 200, r.text
    status = r.json()
    assert status["version"] == first
    assert any(line.startswith(f"{broken[:12]}:dl-basics/course.yaml:") and
               "lessons.0.environment: 'quantum' is not one of the environments" in line
               for line in status["refused"]), status
    catalog = requests.get(f"{api}/catalog", headers=admin).json()
    assert catalog["version"] == first and catalog["courses"][0]["lessons"][0]["environment"] == "python"

    manifest.write_text(good_text.replace("en: Deep learning basics",
                                          "en: Deep learning, the basics"))
    fixed = publish(src, remote, "a better title")
    r = requests.post(f"{api}/content/sync", headers=admin, timeout=60)
    assert r.json() == {"version": fixed, "refused": []}
    catalog = requests.get(f"{api}/catalog", headers=admin).json()
    assert catalog["courses"][0]["title"] == "Deep learning, the basics"


def test_the_webhook_refuses_a_wrong_signature(following):
    _, api, _, _, _, _ = following
    assert webhook(api, b"{}", secret="not-the-secret").status_code == 401
    assert requests.post(f"{api}/content/webhook", data=b"{}", timeout=30).status_code == 401
