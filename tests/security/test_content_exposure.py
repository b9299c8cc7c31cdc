"""A learner's container holds only what learners get of their own course.

From the learner's kernel, a hostile learner looks everywhere the content could be: the mounts
under /srv/lms, the learner repo's whole history, the environment. Surveys (their questions are
the instructors' to publish), ``course.yaml``, other courses and hidden files stay on the hub
side."""

from __future__ import annotations

import json

import pytest

from ..hubctl import Hub
from .kernel import Kernel

LOOK_AROUND = r"""
import json, os, subprocess
found = {"srv": sorted(os.listdir("/srv/lms")) if os.path.isdir("/srv/lms") else []}
found["learner"] = sorted(os.listdir("/srv/lms/learner")) if os.path.isdir("/srv/lms/learner") else []
content = "/srv/lms/content"
found["content"] = sorted(os.listdir(content)) if os.path.isdir(content) else []
paths = set()
for repo in found["learner"]:
    git = ["git", "--git-dir", os.path.join("/srv/lms/learner", repo)]
    for commit in subprocess.run(git + ["rev-list", "--all"], capture_output=True,
                                 text=True).stdout.split():
        paths.update(subprocess.run(git + ["ls-tree", "-r", "--name-only", commit],
                                    capture_output=True, text=True).stdout.split("\n"))
found["paths"] = sorted(p for p in paths if p)
found["env"] = {k: v for k, v in os.environ.items() if k.startswith("LMS_")}
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def hub(docker_engine, content_remote, run_id, tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("exposure-hub"), str(content_remote), f"{run_id}-expo",
              {"LMS_IDLE_TIMEOUT": "0"})
    hub.start()
    yield hub
    hub.stop()


def test_a_learner_sees_only_their_own_courses_learner_files(hub):
    hub.create_user("nosy")
    r = hub.start_lesson("nosy", "dl-basics/python-basics")
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("nosy")
    kernel = Kernel(hub, "nosy")
    result = kernel.run(LOOK_AROUND)
    kernel.shutdown()
    found = json.loads(result.stdout)
    # the content repo holds two courses (dl-basics, policy-check); only this lesson's is here
    assert found["learner"] == ["dl-basics.git"], found
    assert found["content"] == [], found
    assert "dl-basics/01-python/python-basics.ipynb" not in found["paths"]  # relative to course
    assert "01-python/python-basics.ipynb" in found["paths"], found["paths"]
    for path in found["paths"]:
        parts = path.split("/")
        assert parts[0] not in ("course.yaml", "surveys"), path
        assert not any(part.startswith(".") for part in parts), path
        assert "policy-check" not in path and path != "lesson.ipynb", path
    assert not any(key in found["env"] for key in ("LMS_CONTENT_DIR", "LMS_CONTENT_REPO")), found
    assert found["env"]["LMS_LEARNER_REPO"] == "/srv/lms/learner/dl-basics.git"
    hub.stop_server("nosy")
