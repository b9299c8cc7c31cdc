"""`lms-content export-z2jh` output, loaded into KubeSpawner's own profile_list handling."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest
import yaml
from kubespawner import KubeSpawner

from ..hubctl import ROOT
from .course_fixture import LMS_CONTENT


def exported(tmp_path) -> dict:
    out = tmp_path / "lessons.yaml"
    result = subprocess.run([LMS_CONTENT, "export-z2jh", str(ROOT / "content_repo"), "-o",
                             str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(out.read_text())


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


@pytest.fixture(autouse=True)
def kubeconfig(tmp_path, monkeypatch):
    """KubeSpawner reads a cluster's address when it is made; there is no cluster here, and
    loading profiles sends it nothing."""
    from kubernetes_asyncio.config import kube_config

    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


async def choose(profile_list: list, profile: str, lesson: str) -> KubeSpawner:
    spawner = KubeSpawner(_mock=True)
    spawner.profile_list = profile_list  # the trait validates the list
    spawner.user_options = {"profile": profile, "lesson": lesson}
    await spawner.load_user_options()  # KubeSpawner's own validation and overrides
    return spawner


def test_every_lesson_becomes_a_kubespawner_choice_with_its_image(tmp_path):
    values = exported(tmp_path)
    profiles = values["singleuser"]["profileList"]
    assert [p["slug"] for p in profiles] == ["dl-basics"]
    catalog = subprocess.run([LMS_CONTENT, "catalog", str(ROOT / "content_repo")],
                             capture_output=True, text=True, check=True).stdout
    lessons = [lesson["slug"] for lesson in json.loads(catalog)["courses"][0]["lessons"]]
    assert list(profiles[0]["profile_options"]["lesson"]["choices"]) == lessons  # course order

    spawner = asyncio.run(choose(profiles, "dl-basics", "linear-regression"))
    assert spawner.image == "lms/scipy:latest"
    assert spawner.environment["LMS_LESSON"] == "linear-regression"
    assert spawner.default_url == "/lab/tree/dl-basics/04-linear-regression/linear-regression.ipynb"

    spawner = asyncio.run(choose(profiles, "dl-basics", "cnn-digits"))
    assert spawner.image == "lms/pytorch:latest"
    assert spawner.extra_resource_limits == {"nvidia.com/gpu": "1"}
    assert spawner.mem_limit == 8 * 2**30
    assert spawner.volume_mounts == [{"name": "dshm", "mountPath": "/dev/shm"}]
    assert spawner.volumes[0]["emptyDir"] == {"medium": "Memory", "sizeLimit": "2048Mi"}

    images = values["prePuller"]["extraImages"]
    assert {(i["name"], i["tag"]) for i in images.values()} == {
        ("lms/base", "latest"), ("lms/scipy", "latest"), ("lms/pytorch", "latest")}


def test_a_broken_course_is_not_exported(tmp_path):
    broken = tmp_path / "c"
    broken.mkdir()
    (broken / "course.yaml").write_text("slug: c\n")
    result = subprocess.run([LMS_CONTENT, "export-z2jh", str(broken)], capture_output=True,
                            text=True)
    assert result.returncode == 1 and "course.yaml:1: title: Field required" in result.stderr
