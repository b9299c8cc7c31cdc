"""Learners are isolated from the hub side and from each other on the network.

A hostile learner's process tries to hold the LMS service's and the hub's ports while the hub
restarts (once the hub's own service failed to start, and requests meant for the service, with
their tokens, went to the learner), to reach another learner's server directly, and to sniff.
Against the default deployment (the private lesson network) and against host networking with
its protection (hub-side ports below 1024)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid
from datetime import UTC, datetime

import pytest
import requests

from ..conftest import docker
from ..hubctl import Hub
from .kernel import Kernel
from .squatter import squat_report, start_squatter

LESSON = "dl-basics/python-basics"  # lms/base: an environment without `resources`


def start(hub: Hub, user: str) -> None:
    hub.create_user(user)
    r = hub.start_lesson(user, LESSON)
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(user)


def container(hub: Hub, user: str) -> dict:
    return json.loads(docker("inspect", f"lms-test-{hub.run_id}-{user}"))[0]


def user_token(hub: Hub, user: str) -> str:
    r = hub.api("POST", f"/users/{user}/tokens", json={"note": "network test"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def send_event_and_wait(hub: Hub, user: str) -> None:
    """An event posted to ``user``'s server reaches the real LMS service, forwarded by the
    server with its own token, and the learner sees it in their progress."""
    event = {"id": str(uuid.uuid4()), "kind": "lesson_opened", "course": "dl-basics",
             "lesson": "python-basics", "at": datetime.now(UTC).isoformat(), "active_seconds": 7}
    r = hub.server_request("POST", user, "lms/api/events", json={"events": [event]})
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"token {user_token(hub, user)}"}
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        r = requests.get(f"{hub.service_url('lms')}/api/progress/{user}", headers=headers,
                         timeout=10)
        if r.ok:
            rows = r.json()["courses"]["dl-basics"]
            status = next(row for row in rows if row["lesson"] == "python-basics")["status"]
            if status == "in_progress":
                return
        time.sleep(0.5)
    queue = hub.server_request("GET", user, "lms/api/events").json()
    raise AssertionError(f"the event did not reach the LMS service (status {status}, "
                         f"forwarder {queue})")


def squat_through_a_restart(hub: Hub, attacker: str, victim: str,
                            targets: list[tuple[str, int]]) -> dict:
    """The attacker's squatter runs while the hub stops and starts again; the hub comes back
    whole, the victim's events reach the real service, and the squatter's report is returned."""
    kernel = Kernel(hub, attacker)
    start_squatter(kernel, targets, seconds=40)
    time.sleep(1)
    hub.stop()
    time.sleep(2)  # the ports are free now: the squatter has its chance
    hub.start()  # fails if the LMS service or the hub cannot bind their ports
    send_event_and_wait(hub, victim)
    kernel = Kernel(hub, attacker)  # the proxy is new: a new channel to the same server
    report = squat_report(kernel)
    kernel.shutdown()
    return report


def captured_tokens(report: dict) -> list[str]:
    return [text[:300] for text in report["captured"] if "authorization" in text.lower()]


# -- the default deployment: the private lesson network -------------------------------------


@pytest.fixture(scope="module")
def net_hub(docker_engine, content_remote, run_id, tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("net-hub"), str(content_remote), f"{run_id}-net",
              {"LMS_SUBDOMAIN_HOST": "", "LMS_IDLE_TIMEOUT": "0"})
    hub.start()
    start(hub, "mallory")
    start(hub, "victor")
    yield hub
    hub.stop()


def test_lesson_network_is_private_internal_and_without_traffic_between_learners(net_hub):
    net = json.loads(docker("network", "inspect", net_hub.env["LMS_NETWORK"]))[0]
    assert net["Driver"] == "bridge"
    # no route out of the network: not the internet, not 169.254.169.254 (cloud metadata),
    # not the host's other networks
    assert net["Internal"] is True
    assert net["Options"]["com.docker.network.bridge.enable_icc"] == "false"
    assert [c["Subnet"] for c in net["IPAM"]["Config"]] == [net_hub.env["LMS_NETWORK_SUBNET"]]
    for user in ("mallory", "victor"):
        info = container(net_hub, user)
        assert info["HostConfig"]["NetworkMode"] == net["Name"]
        assert list(info["NetworkSettings"]["Networks"]) == [net["Name"]]
    # the engine enforces it: whatever leaves the bridge for an address outside the subnet is
    # dropped (read from the firewall's rules; no traffic is sent there)
    bridge = f"br-{net['Id'][:12]}"
    rules = subprocess.run(["iptables", "-S", "DOCKER-ISOLATION-STAGE-1"], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    subnet = net_hub.env["LMS_NETWORK_SUBNET"]
    assert f"-A DOCKER-ISOLATION-STAGE-1 ! -d {subnet} -i {bridge} -j DROP" in rules, rules


def test_hub_and_service_listen_on_the_gateway_not_on_a_learner_reachable_loopback(net_hub):
    gateway = json.loads(docker("network", "inspect", net_hub.env["LMS_NETWORK"]))[0][
        "IPAM"]["Config"][0]["Gateway"]
    env = dict(item.split("=", 1) for item in container(net_hub, "victor")["Config"]["Env"])
    assert env["JUPYTERHUB_API_URL"].startswith(f"http://{gateway}:")
    assert env["LMS_SERVICE_URL"] == (
        f"http://{gateway}:{net_hub.env['LMS_SERVICE_PORT']}/services/lms")


def test_a_learner_cannot_reach_another_learners_server_or_sniff(net_hub):
    victim_ip = next(iter(container(net_hub, "victor")["NetworkSettings"]["Networks"].values()))[
        "IPAddress"]
    kernel = Kernel(net_hub, "mallory")
    probe = kernel.run(
        "import socket\n"
        "s = socket.socket(); s.settimeout(3)\n"
        f"print(s.connect_ex(({victim_ip!r}, 8888)))\n"
        "try:\n"
        "    socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
        "    print('raw socket')\n"
        "except PermissionError:\n"
        "    print('no raw socket')\n"
    )
    kernel.shutdown()
    code, raw = probe.stdout.split()[0], " ".join(probe.stdout.split()[1:])
    assert code != "0", "mallory's kernel connected to victor's server directly"
    assert raw == "no raw socket"


def test_port_squat_during_a_hub_restart_captures_nothing(net_hub):
    gateway = json.loads(docker("network", "inspect", net_hub.env["LMS_NETWORK"]))[0][
        "IPAM"]["Config"][0]["Gateway"]
    service, api = int(net_hub.env["LMS_SERVICE_PORT"]), int(net_hub.env["LMS_HUB_API_PORT"])
    targets = [(gateway, service), (gateway, api), ("0.0.0.0", service), ("0.0.0.0", api),
               ("127.0.0.1", service)]
    report = squat_through_a_restart(net_hub, "mallory", "victor", targets)
    # the hub's addresses are not the container's to bind ...
    assert f"{gateway}:{service}" in report["refused"] and f"{gateway}:{service}" not in report[
        "bound"], report
    # ... what it could bind is its own namespace's, where nothing of the hub side looks
    assert captured_tokens(report) == [], report


# -- host networking, opted into, with its protection ---------------------------------------


def privileged_ports(count: int) -> list[int]:
    ports = []
    for port in range(700, 1024):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    pytest.fail("no free ports below 1024 on this machine")


@pytest.fixture(scope="module")
def host_hub(docker_engine, content_remote, run_id, tmp_path_factory):
    public, api, proxy, service = privileged_ports(4)
    hub = Hub(tmp_path_factory.mktemp("hostnet-hub"), str(content_remote), f"{run_id}-hnet",
              {"LMS_HOST_NETWORKING": "1", "LMS_IDLE_TIMEOUT": "0", "LMS_HUB_PORT": str(public),
               "LMS_HUB_API_PORT": str(api), "LMS_PROXY_API_URL": f"http://127.0.0.1:{proxy}",
               "LMS_SERVICE_PORT": str(service)})
    hub.start()
    start(hub, "hmallory")
    start(hub, "hvictor")
    yield hub
    hub.stop()


def test_host_networking_with_privileged_hub_ports_defeats_the_squatter(host_hub):
    assert container(host_hub, "hmallory")["HostConfig"]["NetworkMode"] == "host"
    ports = [int(host_hub.env[name]) for name in ("LMS_SERVICE_PORT", "LMS_HUB_API_PORT")]
    ports += [host_hub.port, int(host_hub.env["LMS_PROXY_API_URL"].rsplit(":", 1)[1])]
    targets = [(addr, port) for port in ports for addr in ("127.0.0.1", "0.0.0.0")]
    report = squat_through_a_restart(host_hub, "hmallory", "hvictor", targets)
    assert report["bound"] == [], report
    assert set(report["refused"].values()) == {"Permission denied"}, report
    assert captured_tokens(report) == [], report
    assert "LMS_HOST_NETWORKING=1 shares this host's loopback" not in host_hub.log_tail(400)


def test_host_networking_with_unprivileged_ports_is_called_unsafe(content_remote, run_id,
                                                                   tmp_path):
    hub = Hub(tmp_path, str(content_remote), f"{run_id}-hwarn",
              {"LMS_HOST_NETWORKING": "1", "LMS_IDLE_TIMEOUT": "0"})
    hub.start()
    try:
        log = hub.log_tail(400)
    finally:
        hub.stop()
    assert "LMS_HOST_NETWORKING=1 shares this host's loopback" in log
    assert f"LMS_SERVICE_PORT={hub.env['LMS_SERVICE_PORT']}" in log


def test_a_network_with_internet_still_keeps_learners_from_cloud_metadata(content_remote, run_id,
                                                                         tmp_path):
    hub = Hub(tmp_path, str(content_remote), f"{run_id}-inet",
              {"LMS_LESSON_INTERNET": "1", "LMS_IDLE_TIMEOUT": "0"})
    subnet = hub.env["LMS_NETWORK_SUBNET"]
    rule = ["DOCKER-USER", "-s", subnet, "-d", "169.254.0.0/16", "-j", "DROP"]
    hub.start()
    try:
        net = json.loads(docker("network", "inspect", hub.env["LMS_NETWORK"]))[0]
        assert net["Internal"] is False
        # read from the firewall's rules: nothing from the lesson subnet to 169.254.0.0/16
        chain = subprocess.run(["iptables", "-S", "DOCKER-USER"], capture_output=True,
                               text=True, check=True).stdout
        assert f"-A DOCKER-USER -s {subnet} -d 169.254.0.0/16 -j DROP" in chain, chain
    finally:
        hub.stop()
        docker("network", "rm", hub.env["LMS_NETWORK"], check=False)
        subprocess.run(["iptables", "-D", *rule], capture_output=True)
