"""A bridge interface of its own for each second Docker engine the tests start on this machine.

``dockerd --bridge none`` deletes the host's ``docker0`` as it starts: the interface of the
machine's own engine. Every container that engine then starts on its default network fails
("could not find bridge docker0"), until it restarts. So the tests' engines (the GPU engine,
the Swarm GPU node) get a bridge of their own instead (``--bridge <name>``), with a fixed
address outside Docker's default address pools, so that it never overlaps a network the
machine's engine makes. No container of those engines uses it: they run on networks of their
own. It is removed when the engine stops.
"""

from __future__ import annotations

import subprocess


def make_bridge(name: str, address: str) -> None:
    """Create the bridge ``name`` with ``address`` (CIDR), or take the one a stopped run left."""
    remove_bridge(name)
    for command in (["ip", "link", "add", name, "type", "bridge"],
                    ["ip", "addr", "add", address, "dev", name],
                    ["ip", "link", "set", name, "up"]):
        subprocess.run(command, check=True, capture_output=True)


def remove_bridge(name: str) -> None:
    subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)
