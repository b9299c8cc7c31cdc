"""Lesson containers are unprivileged and limited, as `docker inspect` shows."""

from __future__ import annotations

from .test_api_spawn import container, start

MiB = 2**20


def test_a_lesson_container_is_hardened_and_limited(hub, run_id):
    hub.create_user("hank")
    start(hub, "hank", "dl-basics/python-basics")
    info = container(run_id, "hank")
    host = info["HostConfig"]
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["Privileged"] is False
    assert host["PidsLimit"] == 1024 and host["ShmSize"] == 256 * MiB  # the hub's defaults
    assert info["Config"]["User"] in ("1000", "")  # the image's unprivileged learner
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    # the course's learner repo, read-only, and nothing else of the content
    assert mounts["/srv/lms/learner/dl-basics.git"]["RW"] is False
    assert not any(m["Destination"].startswith("/srv/lms/content") for m in info["Mounts"])
    assert not any("docker.sock" in m.get("Source", "") for m in info["Mounts"])
    # the learner's server works under these limits
    assert hub.server_request("GET", "hank", "api/contents").status_code == 200
    hub.stop_server("hank")


def test_environment_resources_apply_and_the_hub_cap_wins(hub, run_id):
    hub.create_user("ivan")
    start(hub, "ivan", "dl-basics/pytorch-mlp")  # torch: memory 4G, shm 1G; the hub caps 3G
    host = container(run_id, "ivan")["HostConfig"]
    assert host["Memory"] == 3 * 1024 * MiB
    assert host["ShmSize"] == 1024 * MiB
    assert "dl-basics/pytorch-mlp asks for more memory than this hub allows" in hub.log_tail(400)
    hub.stop_server("ivan")
