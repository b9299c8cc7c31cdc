"""The private Docker network of lesson containers, and the hub-side addresses on it.

By default every lesson container runs on a bridge network the platform creates itself:

- with an explicit subnet (``LMS_NETWORK_SUBNET``), so it never lands on an address range that
  Docker would pick and that the site may use elsewhere;
- ``internal``: the engine gives it no route out, so nothing in a lesson container reaches the
  internet, the cloud metadata address (169.254.169.254) or the host's other networks (with
  ``LMS_LESSON_INTERNET=1`` it gets a route out, and the link-local range, metadata included,
  is dropped by a firewall rule);
- with inter-container traffic off (``enable_icc=false``): one learner's container cannot open a
  connection to another's; the proxy, on the host, still reaches each server at its address.

The hub's API and the LMS service listen on the network's gateway address (the host's end of the
bridge). A process in a lesson container has its own network namespace: it can bind any port of
its own loopback, but no address of the host, so it can neither hold a port the hub or the LMS
service needs while they restart nor see their traffic.

``lesson_network()`` is called from the hub configuration before the hub starts.
"""

from __future__ import annotations

import ipaddress
import subprocess
from dataclasses import dataclass

import docker
from docker.errors import APIError, NotFound
from docker.types import IPAMConfig, IPAMPool

ICC_OPTION = "com.docker.network.bridge.enable_icc"
LABEL = "lms.network"


class NetworkError(RuntimeError):
    """The lesson network cannot be created or has other settings than the hub asks for."""


@dataclass(frozen=True)
class LessonNetwork:
    name: str
    subnet: str
    gateway: str
    internal: bool


def _gateway_of(subnet: ipaddress.IPv4Network) -> str:
    return str(next(subnet.hosts()))


def _check_existing(info: dict, name: str, subnet: str, internal: bool) -> LessonNetwork:
    configs = (info.get("IPAM") or {}).get("Config") or []
    subnets = {c.get("Subnet") for c in configs}
    problems = []
    if info.get("Driver") != "bridge":
        problems.append(f"driver {info.get('Driver')!r}, not 'bridge'")
    if subnet not in subnets:
        problems.append(f"subnet {', '.join(sorted(filter(None, subnets))) or 'none'}, "
                        f"not {subnet}")
    if bool(info.get("Internal")) != internal:
        problems.append(f"internal={bool(info.get('Internal'))}, not {internal}")
    if (info.get("Options") or {}).get(ICC_OPTION) != "false":
        problems.append("inter-container traffic is on")
    if problems:
        raise NetworkError(
            f"Docker network {name!r} exists with other settings ({'; '.join(problems)}): "
            f"remove it (docker network rm {name}) once no lesson server uses it, or choose "
            "another LMS_NETWORK"
        )
    gateway = next((c.get("Gateway") for c in configs if c.get("Subnet") == subnet), None)
    return LessonNetwork(name, subnet, gateway or _gateway_of(ipaddress.ip_network(subnet)),
                         internal)


LINK_LOCAL = "169.254.0.0/16"  # cloud metadata (169.254.169.254) and other link-local hosts


def block_link_local(subnet: str) -> None:
    """Drop whatever ``subnet`` sends to link-local addresses (the cloud metadata address among
    them), in the engine's ``DOCKER-USER`` chain, which Docker consults before its own rules.

    Only needed on a network with a route out (``LMS_LESSON_INTERNET=1``); an internal network
    has none. Raises ``NetworkError`` if the rule cannot be put in place.
    """
    rule = ["DOCKER-USER", "-s", subnet, "-d", LINK_LOCAL, "-j", "DROP"]
    try:
        if subprocess.run(["iptables", "-C", *rule], capture_output=True).returncode == 0:
            return
        done = subprocess.run(["iptables", "-I", *rule], capture_output=True, text=True)
    except OSError as exc:
        raise NetworkError(f"LMS_LESSON_INTERNET=1 needs iptables to keep lesson containers "
                           f"from {LINK_LOCAL} (cloud metadata): {exc}") from None
    if done.returncode != 0:
        raise NetworkError(f"LMS_LESSON_INTERNET=1: cannot keep lesson containers from "
                           f"{LINK_LOCAL} (cloud metadata): iptables: {done.stderr.strip()}")


def lesson_network(name: str, subnet: str, internal: bool = True,
                   client: docker.DockerClient | None = None) -> LessonNetwork:
    """The lesson network ``name`` on ``subnet``: created if missing, checked if present.

    ``internal=False`` gives it a route out (the internet, for ``pip install`` in lessons); the
    link-local addresses, the cloud metadata address among them, stay out of reach
    (``block_link_local``).

    Raises ``NetworkError`` with the reason when the subnet is not a valid IPv4 network, the
    engine cannot create it (e.g. it overlaps another network) or an existing network of that
    name has other settings.
    """
    try:
        net = ipaddress.ip_network(subnet, strict=True)
    except ValueError as exc:
        raise NetworkError(f"LMS_NETWORK_SUBNET: {subnet!r} is not a network like "
                           f"10.213.0.0/20 ({exc})") from None
    if net.version != 4 or net.num_addresses < 8:
        raise NetworkError(f"LMS_NETWORK_SUBNET: {subnet!r} must be an IPv4 network of at "
                           "least 8 addresses")
    subnet = str(net)
    if not internal:
        block_link_local(subnet)
    client = client or docker.from_env()
    try:
        return _check_existing(client.api.inspect_network(name), name, subnet, internal)
    except NotFound:
        pass
    gateway = _gateway_of(net)
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=subnet, gateway=gateway)])
    try:
        client.api.create_network(
            name, driver="bridge", internal=internal, ipam=ipam,
            options={ICC_OPTION: "false"}, labels={LABEL: "lessons"}, check_duplicate=True,
        )
    except APIError as exc:
        if exc.status_code == 409:  # created meanwhile by another hub process
            return _check_existing(client.api.inspect_network(name), name, subnet, internal)
        raise NetworkError(f"cannot create Docker network {name!r} on {subnet}: "
                           f"{exc.explanation or exc}") from None
    return LessonNetwork(name, subnet, gateway, internal)


def unprivileged_port_start() -> int:
    """The lowest port an unprivileged process may bind on this host (Linux default 1024)."""
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 1024


def host_networking_warnings(ports: dict[str, int]) -> list[str]:
    """Why host networking is unsafe with these hub-side ports (named by their setting).

    With host networking every lesson server shares the host's loopback: a learner's process
    can bind any free port there that an unprivileged process may bind, e.g. the LMS service's
    while it restarts, and receive what the hub and the lesson servers send to it. Ports below
    ``ip_unprivileged_port_start`` (1024) cannot be taken by learners (uid 1000, every
    capability dropped).
    """
    start = unprivileged_port_start()
    exposed = {name: port for name, port in ports.items() if port >= start}
    if not exposed:
        return []
    listed = ", ".join(f"{name}={port}" for name, port in sorted(exposed.items()))
    return [
        f"LMS_HOST_NETWORKING=1 shares this host's loopback with every learner, and these "
        f"hub-side ports can be taken by a learner's process while they are free (e.g. during a "
        f"restart): {listed}. Use ports below {start}, or run lesson servers on the lesson "
        "network (LMS_HOST_NETWORKING=0); see README, 'Security model'."
    ]
