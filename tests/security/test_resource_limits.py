"""Attacks on the machine's resources from a learner's lesson server, and settings that would
take the limits or the hardening away.

The attacks run in a lesson whose environment asks for no ``resources`` (the hub's defaults are
all it has), from inside the learner's own kernel through the Jupyter server's websocket API, as
a learner's notebook would: a memory bomb and a fork bomb. Both are bounded (6 GiB, 5,000
processes), so a missing limit fails the test instead of harming the machine. Meanwhile the hub's
API and another learner's server must keep answering.
"""

from __future__ import annotations

import errno
import re

import pytest
import yaml
from traitlets import TraitError

from lms_spawner import LessonSpawner, LessonSwarmSpawner
from lms_spawner.hardening import (DockerSocketRefused, harden_container_spec,
                                   harden_host_config, harden_service_limits)
from lms_spawner.limit_settings import DEFAULTS, LimitSettingError, settings_from_env
from lms_spawner.limits import Limits

from ..conftest import _cleanup_docker, docker
from ..hubctl import ROOT, TEST_CONFIG, Hub
from ..spawn.test_api_spawn import container, start
from .kernel import Bystanders, Kernel

MiB, GiB = 2**20, 2**30
LESSON = "dl-basics/python-basics"  # environment "python": lms/base, no resources
# the hub's built-in defaults (the test hub sets none of them)
MEMORY, CPUS, PIDS, SHM = 2 * GiB, 1.0, 1024, 256 * MiB

GROW = """
MiB = 2**20
held, total = [], 0
try:
    while total < 6 * 1024 * MiB:
        chunk = bytearray(64 * MiB)
        chunk[::4096] = b"x" * (64 * MiB // 4096)  # every page written, so every page is held
        held.append(chunk)
        total += 64 * MiB
        print(f"held {total // MiB}", flush=True)
    print("held all of it", flush=True)
except MemoryError:
    print("memory error", flush=True)
finally:
    del held
"""

FORK = """
import os
children, failure = [], None
for _ in range(5000):
    try:
        pid = os.fork()
    except OSError as exc:
        failure = exc.errno
        break
    if pid == 0:
        try:
            os.execv("/bin/sleep", ["sleep", "600"])
        finally:
            os._exit(0)
    children.append(pid)
print(f"forked {len(children)} failure {failure}", flush=True)
"""

REAP = """
import signal
for pid in children:
    os.kill(pid, signal.SIGKILL)
for pid in children:
    os.waitpid(pid, 0)
print(f"reaped {len(children)}", flush=True)
"""


@pytest.fixture(scope="module")
def neighbour(hub):
    """Another learner whose lesson server runs during the attacks."""
    hub.create_user("neighbour")
    start(hub, "neighbour", "dl-basics/numpy-basics")
    yield "neighbour"
    hub.stop_server("neighbour")


def _environment_of(lesson: str) -> dict:
    course, slug = lesson.split("/")
    spec = yaml.safe_load((ROOT / "content_repo" / course / "course.yaml").read_text())
    entry = next(item for item in spec["lessons"] if item["slug"] == slug)
    return spec["environments"][entry.get("environment", spec["default_environment"])]


# -- every lesson server is limited ------------------------------------------------------------


def test_a_lesson_without_resources_gets_every_limit(hub, run_id):
    assert "resources" not in _environment_of(LESSON)  # only the hub's defaults apply here
    hub.create_user("plainlesson")
    start(hub, "plainlesson", LESSON)
    try:
        host = container(run_id, "plainlesson")["HostConfig"]
        assert host["Memory"] == MEMORY
        assert host["MemorySwap"] == MEMORY  # no swap beyond the memory limit
        assert host["CpuQuota"] / host["CpuPeriod"] == CPUS
        assert host["PidsLimit"] == PIDS
        assert host["ShmSize"] == SHM
        assert host["OomKillDisable"] in (False, None)
    finally:
        hub.stop_server("plainlesson")


# -- attacks from the learner's kernel ---------------------------------------------------------


def test_a_memory_bomb_is_stopped_at_the_memory_limit(hub, run_id, neighbour):
    hub.create_user("memorybomber")
    start(hub, "memorybomber", LESSON)
    try:
        limit = container(run_id, "memorybomber")["HostConfig"]["Memory"]
        assert limit == MEMORY
        with Bystanders(hub, neighbour) as bystanders:
            once = Kernel(hub, "memorybomber").run("bytearray(10**11)")
            assert once.status == "died" or once.error.startswith("MemoryError"), once

            grown = Kernel(hub, "memorybomber").run(GROW, timeout=300)
            held = [int(n) for n in re.findall(r"held (\d+)", grown.stdout)]
            # the allocation failed, or the kernel holding it was killed
            assert "held all of it" not in grown.stdout, grown
            assert grown.status == "died" or "memory error" in grown.stdout, grown
            # and never held more than the limit allows
            assert held and max(held) <= limit // MiB, grown.stdout[-500:]
        assert bystanders.checks >= 2 and not bystanders.failures, bystanders.failures
        # the learner's own server carries on, or was stopped: nothing in between
        model = hub.api("GET", "/users/memorybomber").json()["servers"].get("")
        if model:
            assert hub.server_request("GET", "memorybomber", "api/status").status_code == 200
    finally:
        hub.stop_server("memorybomber")


def test_a_fork_bomb_hits_the_process_limit(hub, run_id, neighbour):
    hub.create_user("forkbomber")
    start(hub, "forkbomber", LESSON)
    try:
        limit = container(run_id, "forkbomber")["HostConfig"]["PidsLimit"]
        assert limit == PIDS
        kernel = Kernel(hub, "forkbomber")
        with Bystanders(hub, neighbour) as bystanders:
            bomb = kernel.run(FORK, timeout=300)
            assert bomb.status == "ok", bomb
            forked, failure = re.search(r"forked (\d+) failure (\S+)", bomb.stdout).groups()
            # fork failed at the container's process limit (the server and the kernel, with
            # their threads, hold a few of its slots), far below the 5,000 tried
            assert failure == str(errno.EAGAIN), bomb.stdout
            assert limit - 100 < int(forked) < limit, bomb.stdout
        # the hub and the other learner answered all along, the sleeping children alive
        assert bystanders.checks >= 2 and not bystanders.failures, bystanders.failures
        reaped = kernel.run(REAP, timeout=120)
        assert f"reaped {forked}" in reaped.stdout, reaped
    finally:
        hub.stop_server("forkbomber")


# -- the hub's settings --------------------------------------------------------------------------


@pytest.mark.parametrize("variable, value, words", [
    ("LMS_DEFAULT_MEMORY", "2GB", "is not a size like 512M or 2G"),
    ("LMS_DEFAULT_PIDS", "-1", "is less than 64 processes"),
    ("LMS_MAX_CPUS", "lots", "is not a number of CPUs"),
])
def test_the_hub_refuses_to_start_with_a_bad_limit(content_remote, run_id, tmp_path,
                                                  variable, value, words):
    hub = Hub(tmp_path, str(content_remote), f"{run_id}-badlimit", {variable: value})
    try:
        with pytest.raises(RuntimeError) as refused:
            hub.start(timeout=60)
        output = str(refused.value)
        assert "jupyterhub exited with 1" in output
        assert f"{variable}: {value!r} {words}" in output, output
        assert "Traceback" not in output  # the message alone, not a stack dump
    finally:
        hub.stop()


HOSTILE_EXTRA = """
c = get_config()
load_subconfig({test_config!r})
# settings that would take the hardening and the limits away, and two that only add to them
c.LessonSpawner.extra_host_config = {{
    "privileged": True,
    "cap_drop": [],
    "cap_add": ["SYS_ADMIN", "NET_ADMIN"],
    "security_opt": ["seccomp=unconfined", "no-new-privileges:false"],
    "pids_limit": 100000,
    "mem_limit": "8g",
    "memswap_limit": -1,
    "oom_kill_disable": True,
    "cpu_quota": -1,
    "shm_size": "128m",
    "cpuset_cpus": "0",
}}
"""


@pytest.fixture
def hostile_config_hub(docker_engine, content_remote, run_id, tmp_path):
    config = tmp_path / "extra_config.py"
    config.write_text(HOSTILE_EXTRA.format(test_config=str(TEST_CONFIG)))
    hub = Hub(tmp_path, str(content_remote), f"{run_id}-xhc",
              {"LMS_EXTRA_CONFIG": str(config), "LMS_IDLE_TIMEOUT": "0"})
    hub.start()
    yield hub
    hub.stop()
    _cleanup_docker(f"{run_id}-xhc")


def test_extra_host_config_cannot_take_the_hardening_away(hostile_config_hub, run_id):
    hub = hostile_config_hub
    hub.create_user("extra")
    start(hub, "extra", LESSON)
    try:
        info = container(f"{run_id}-xhc", "extra")
        host = info["HostConfig"]
        assert host["Privileged"] is False
        assert "ALL" in host["CapDrop"] and not host["CapAdd"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert not any("unconfined" in o or ":false" in o for o in host["SecurityOpt"])
        assert (host["Memory"], host["MemorySwap"]) == (MEMORY, MEMORY)
        assert host["PidsLimit"] == PIDS
        assert host["CpuQuota"] / host["CpuPeriod"] == CPUS
        assert host["OomKillDisable"] in (False, None)
        # what only adds to the limits applies
        assert host["ShmSize"] == 128 * MiB and host["CpusetCpus"] == "0"
        # inside, the learner's server holds no capability at all
        status = docker("exec", info["Id"], "cat", "/proc/1/status")
        assert re.search(r"^CapEff:\s+0+$", status, re.M), status
        assert re.search(r"^NoNewPrivs:\s+1$", status, re.M), status
        assert "extra_host_config privileged: lesson servers never run privileged" in hub.log_tail()
    finally:
        hub.stop_server("extra")


# -- the merge rules and the settings' checks, one by one ----------------------------------------

LIMITS = Limits(memory=MEMORY, cpus=1.0, pids=PIDS, shm=SHM)


def test_host_config_keeps_the_hardening_and_the_limits():
    config, notes = harden_host_config(
        {"cap_drop": ["NET_RAW"], "cap_add": ["SYS_ADMIN"], "privileged": True,
         "security_opt": ["apparmor=unconfined", "label=disable", "seccomp=/etc/profile.json"],
         "nano_cpus": 4_000_000_000, "pids_limit": -1, "mem_limit": 0, "shm_size": "1g",
         "dns": ["10.0.0.53"]},
        LIMITS,
    )
    assert config["privileged"] is False and "cap_add" not in config
    assert config["cap_drop"] == ["NET_RAW", "ALL"]
    assert config["security_opt"] == ["seccomp=/etc/profile.json", "no-new-privileges"]
    assert "nano_cpus" not in config
    assert (config["cpu_period"], config["cpu_quota"]) == (100_000, 100_000)
    assert (config["pids_limit"], config["mem_limit"], config["memswap_limit"]) == (
        PIDS, MEMORY, MEMORY)
    assert config["shm_size"] == SHM
    assert config["dns"] == ["10.0.0.53"]  # anything else is the deployment's to add
    assert len(notes) == 6, notes


def test_host_config_may_lower_the_limits_and_allow_bounded_swap():
    config, notes = harden_host_config(
        {"mem_limit": "1g", "memswap_limit": "3g", "pids_limit": 256, "cpu_period": 50_000,
         "cpu_quota": 25_000, "shm_size": 64 * MiB}, LIMITS)
    assert (config["mem_limit"], config["memswap_limit"]) == (GiB, 3 * GiB)
    assert (config["pids_limit"], config["shm_size"]) == (256, 64 * MiB)
    assert (config["cpu_period"], config["cpu_quota"]) == (50_000, 25_000)
    assert notes == []


def test_host_config_refuses_the_docker_socket():
    for extra in ({"binds": {"/var/run/docker.sock": {"bind": "/d.sock", "mode": "rw"}}},
                  {"binds": ["/run/docker.sock:/var/run/docker.sock"]},
                  {"mounts": [{"Source": "/var/run/docker.sock", "Target": "/x", "Type": "bind"}]}):
        with pytest.raises(DockerSocketRefused, match="Docker socket"):
            harden_host_config(extra, LIMITS)


def test_swarm_settings_keep_the_hardening_and_the_limits():
    spec, notes = harden_container_spec(
        {"cap_drop": [], "cap_add": ["SYS_ADMIN"], "hostname": "lesson",
         "privileges": {"Seccomp": {"Mode": "unconfined"}, "NoNewPrivileges": False}})
    assert spec["cap_drop"] == ["ALL"] and "cap_add" not in spec
    assert spec["privileges"] == {"NoNewPrivileges": True} and spec["hostname"] == "lesson"
    assert len(notes) == 2
    ours = {"MemoryBytes": MEMORY, "NanoCPUs": 10**9, "Pids": PIDS}
    limits, notes = harden_service_limits(ours, {"MemoryBytes": 8 * GiB, "Pids": 0,
                                                 "NanoCPUs": 5 * 10**8})
    assert limits == {"MemoryBytes": MEMORY, "NanoCPUs": 5 * 10**8, "Pids": PIDS}
    assert len(notes) == 1, notes


@pytest.mark.parametrize("environ, message", [
    ({"LMS_DEFAULT_MEMORY": "lots"}, "LMS_DEFAULT_MEMORY: 'lots' is not a size like 512M or 2G"),
    ({"LMS_DEFAULT_MEMORY": "16M"}, "LMS_DEFAULT_MEMORY: '16M' is less than"),
    ({"LMS_MAX_SHM": "-1"}, "LMS_MAX_SHM: '-1' is not a size like 512M or 2G"),
    ({"LMS_DEFAULT_CPUS": "0"}, "LMS_DEFAULT_CPUS: '0' is not a number of CPUs from 0.01"),
    ({"LMS_DEFAULT_CPUS": "nan"}, "LMS_DEFAULT_CPUS: 'nan' is not a number of CPUs"),
    ({"LMS_MAX_PIDS": "1e4"}, "LMS_MAX_PIDS: '1e4' is not a whole number of processes"),
    ({"LMS_DEFAULT_MEMORY": "12G"}, "LMS_DEFAULT_MEMORY: '12G' is more than LMS_MAX_MEMORY ('8G')"),
    ({"LMS_DEFAULT_PIDS": "4096", "LMS_MAX_PIDS": "2048"}, "is more than LMS_MAX_PIDS ('2048')"),
])
def test_bad_limit_variables_are_named(environ, message):
    with pytest.raises(LimitSettingError) as refused:
        settings_from_env(environ)
    assert message in str(refused.value)


def test_limit_variables_set_the_spawner_settings():
    assert settings_from_env({}) == {}
    assert settings_from_env({"LMS_DEFAULT_MEMORY": "1.5G", "LMS_DEFAULT_CPUS": "0.5",
                              "LMS_MAX_PIDS": "4096", "LMS_DEFAULT_SHM": " "}) == {
        "default_memory": "1.5G", "default_cpus": 0.5, "max_pids": 4096}


@pytest.mark.parametrize("spawner_class", [LessonSpawner, LessonSwarmSpawner])
def test_spawner_settings_refuse_bad_limits(spawner_class):
    spawner = spawner_class()
    assert (spawner.default_memory, spawner.default_cpus, spawner.default_pids,
            spawner.default_shm) == ("2G", 1.0, 1024, "256M") == tuple(
        DEFAULTS[f"default_{what}"] for what in ("memory", "cpus", "pids", "shm"))
    name = spawner_class.__name__
    for setting, value, words in [("default_memory", "2GB", "is not a size like 512M or 2G"),
                                  ("default_memory", "", "is not a size"),
                                  ("default_pids", -1, "is less than 64 processes"),
                                  ("max_cpus", -2.0, "is not a number of CPUs")]:
        with pytest.raises(TraitError, match=re.escape(f"{name}.{setting}: {value!r} {words}")):
            setattr(spawner, setting, value)
    spawner.max_memory = ""  # a cap may be off; the defaults never
    assert spawner_class(mem_limit="3G", cpu_limit=1.5).default_cpus == 1.5


def test_the_readme_documents_every_limit_variable():
    readme = (ROOT / "README.md").read_text()
    for variable in ("LMS_DEFAULT_MEMORY", "LMS_MAX_MEMORY", "LMS_DEFAULT_CPUS", "LMS_MAX_CPUS",
                     "LMS_DEFAULT_PIDS", "LMS_MAX_PIDS", "LMS_DEFAULT_SHM", "LMS_MAX_SHM"):
        assert f"`{variable}`" in readme, variable
