"""GPU lessons on Docker Swarm: GPUs as Swarm generic resources, placed by the Swarm scheduler.

Nodes advertise their GPUs to the Swarm: ``dockerd --node-generic-resource NVIDIA-GPU=<GPU UUID>``
once per GPU (or ``"node-generic-resources"`` in ``daemon.json``). A lesson whose environment has
``gpu: N`` becomes a service that reserves N resources of the kind ``gpu_resource_kind``, so the
scheduler starts it only on a node with N of them free and never gives one to two services. The
task's container finds the ids it was given in ``DOCKER_RESOURCE_<KIND>`` (e.g.
``DOCKER_RESOURCE_NVIDIA-GPU=GPU-…``); on a GPU node, NVIDIA's container runtime as dockerd's
default runtime, with ``swarm-resource = "DOCKER_RESOURCE_NVIDIA-GPU"`` in its ``config.toml``,
turns them into access to those devices.

The hub itself only counts, so that a spawn is answered at once, as with the hub's own pool:
free = what ready, active nodes advertise − what services reserve (this hub's lesson servers
counted once, from its own books, whether their service exists yet or not). With too few free,
the lesson runs in its environment's ``cpu_fallback`` or the spawn is refused with HTTP 503.
Where the count is wrong (two hubs racing, free GPUs spread over nodes too small for a multi-GPU
lesson), no card is double-booked either: the scheduler keeps the service pending, and
``LessonSwarmSpawner`` refuses it when it stays unschedulable.
"""

from __future__ import annotations

from typing import ClassVar

from traitlets import Unicode
from traitlets.config import Configurable

from .gpus import fall_back_to_cpu

SERVER_LABEL = "lms.server"  # on every lesson service: "<prefix>:<user>/<server name>"


def advertised(node: dict, kind: str) -> int:
    """How many resources of ``kind`` a node advertises (each named one counts once)."""
    count = 0
    for resource in node.get("Description", {}).get("Resources", {}).get("GenericResources") or []:
        named = resource.get("NamedResourceSpec")
        discrete = resource.get("DiscreteResourceSpec")
        if named and named.get("Kind") == kind:
            count += 1
        elif discrete and discrete.get("Kind") == kind:
            count += int(discrete.get("Value", 0))
    return count


def reserved(service: dict, kind: str) -> int:
    """How many resources of ``kind`` a service reserves for its task."""
    resources = service.get("Spec", {}).get("TaskTemplate", {}).get("Resources") or {}
    count = 0
    for resource in (resources.get("Reservations") or {}).get("GenericResources") or []:
        discrete = resource.get("DiscreteResourceSpec")
        if discrete and discrete.get("Kind") == kind:
            count += int(discrete.get("Value", 0))
    return count


class SwarmGpus(Configurable):
    """The settings and hooks of ``LessonSwarmSpawner`` for GPUs."""

    gpu_resource_kind = Unicode(
        "NVIDIA-GPU",
        help="""Kind of the Swarm generic resource that stands for one GPU: what GPU nodes
        advertise with ``dockerd --node-generic-resource <kind>=<GPU UUID>``. A lesson whose
        environment has ``gpu: N`` reserves N of them.""",
    ).tag(config=True)

    # GPUs held by the lesson servers of this hub process, by ``gpu_owner``
    _claims: ClassVar[dict[str, int]] = {}

    gpu_count: int = 0  # GPUs the server being started (or running) reserves

    @property
    def gpu_owner(self) -> str:
        """The server, as its service's ``lms.server`` label names it."""
        return f"{self.prefix}:{self.user.name}/{self.name}"

    async def swarm_gpus(self) -> tuple[int, int]:
        """(free, total) GPUs of the Swarm, as this hub counts them."""
        kind = self.gpu_resource_kind
        nodes = await self.docker("nodes")
        total = sum(
            advertised(node, kind) for node in nodes
            if node.get("Status", {}).get("State") == "ready"
            and node.get("Spec", {}).get("Availability") == "active"
        )
        services = await self.docker("services")
        claims = self._claims
        used = sum(  # any service's reservation takes GPUs, a lesson's or another workload's
            reserved(service, kind) for service in services
            if (service["Spec"].get("Labels") or {}).get(SERVER_LABEL) not in claims
        )
        # nothing is awaited from here on: concurrent spawns see each other's claims
        return total - used - sum(claims.values()), total

    async def take_gpus(self, ref):
        """Hold the GPUs lesson ``ref`` needs (none for a CPU lesson) and return the lesson as
        it will run: in its ``cpu_fallback`` when too few are free, or HTTP 503."""
        self.release_gpus()
        count = ref.environment.gpu
        if not count:
            return ref
        self._claims[self.gpu_owner] = 0  # its own old service, if any, is replaced
        free, total = await self.swarm_gpus()
        if free < count:
            del self._claims[self.gpu_owner]
            reason = f"{count} GPU(s) needed, {max(free, 0)} of {total} free"
            return fall_back_to_cpu(ref, reason, self.log)
        self._claims[self.gpu_owner] = self.gpu_count = count
        self.log.info("%d Swarm GPU(s) for %s (%s)", count, self.gpu_owner, ref.key)
        return ref

    def release_gpus(self) -> None:
        if self._claims.pop(self.gpu_owner, 0):
            self.log.info("%d Swarm GPU(s) free again (%s)", self.gpu_count, self.gpu_owner)
        self.gpu_count = 0

    def gpu_resources(self) -> dict:
        """The service's generic resource reservation (docker-py's ``generic_resources``)."""
        return {self.gpu_resource_kind: self.gpu_count} if self.gpu_count else {}

    async def gpu_counts(self) -> tuple[int, int]:
        """(free, total) GPUs of the Swarm."""
        free, total = await self.swarm_gpus()
        return max(free, 0), total

    async def gpu_status(self) -> str:
        """How many GPUs are free, for the spawn form ("" without any)."""
        free, total = await self.gpu_counts()
        return f"{free} of {total} GPUs free" if total else ""

    def gpu_summary(self) -> str:
        """The GPUs of the server being started, for its progress message."""
        return f" with {self.gpu_count} GPU(s)" if self.gpu_count else ""

    def load_state(self, state):
        super().load_state(state)
        count = state.get("swarm_gpus") or 0
        if count:  # a server from before a hub restart still holds its GPUs
            self._claims[self.gpu_owner] = self.gpu_count = count

    def get_state(self):
        state = super().get_state()
        if self.gpu_count and self.object_id:
            state["swarm_gpus"] = self.gpu_count
        return state
