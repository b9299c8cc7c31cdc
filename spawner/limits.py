"""Resources and hardening of lesson containers.

An environment may ask for memory, CPUs, processes and shared memory (``resources`` in
course.yaml); the hub's defaults fill what it leaves out and the hub's caps have the last word.
Every lesson container also runs with all Linux capabilities dropped and no way to gain
privileges, and never gets the Docker socket (a Swarm service as far as Swarm allows: see
``swarm_spawner``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from traitlets import Bool, Float, Int, Unicode
from traitlets.config import Configurable

from lms_extension.content.model import Resources, parse_bytes

CPU_PERIOD = 100_000


@dataclass
class Limits:
    memory: int | None = None  # bytes
    cpus: float | None = None
    pids: int | None = None
    shm: int | None = None  # bytes
    capped: list[str] = field(default_factory=list)  # what the hub's caps lowered

    def host_config(self, drop_capabilities: bool) -> dict:
        """Docker host-config settings (docker-py names) for these limits and the hardening."""
        config: dict = {"privileged": False}
        if drop_capabilities:
            config.update(cap_drop=["ALL"], security_opt=["no-new-privileges"])
        if self.memory:
            config["mem_limit"] = self.memory
        if self.cpus:
            config.update(cpu_period=CPU_PERIOD, cpu_quota=int(self.cpus * CPU_PERIOD))
        if self.pids:
            config["pids_limit"] = self.pids
        if self.shm:
            config["shm_size"] = self.shm
        return config

    def service_limits(self) -> dict:
        """The memory, CPU and process limits as a Swarm service's ``Resources.Limits`` (Engine
        API names). A service has no /dev/shm size: the Swarm spawner mounts a tmpfs there."""
        limits: dict = {}
        if self.memory:
            limits["MemoryBytes"] = self.memory
        if self.cpus:
            limits["NanoCPUs"] = int(self.cpus * 1e9)
        if self.pids:
            limits["Pids"] = self.pids
        return limits


def _size(value) -> int | None:
    if value in (None, "", 0):
        return None
    return value if isinstance(value, int) else parse_bytes(value)


def resolve_limits(asked: Resources, defaults: dict, caps: dict) -> Limits:
    """The environment's ``asked`` resources, ``defaults`` for the rest, lowered to ``caps``.

    ``defaults`` and ``caps`` map memory/cpus/pids/shm to a value (sizes as bytes or "2G");
    a missing or empty cap means no cap.
    """
    limits = Limits()
    for name in ("memory", "cpus", "pids", "shm"):
        value = getattr(asked, name)
        if value is None:
            value = defaults.get(name)
        sized = name in ("memory", "shm")
        value = _size(value) if sized else (value or None)
        cap = _size(caps.get(name)) if sized else (caps.get(name) or None)
        if cap is not None and (value is None or value > cap):
            if value is not None:
                limits.capped.append(name)
            value = cap
        setattr(limits, name, value)
    return limits


class LessonLimits(Configurable):
    """The settings and hooks of the lesson spawners for resources and hardening (each spawner
    applies ``limits`` to what it creates: a container's host config, a service's spec)."""

    limits: Limits | None = None

    default_memory = Unicode(
        "",
        help="""Memory of a lesson container whose environment names none (e.g. ``2G``; empty:
        DockerSpawner's ``mem_limit``, if set).""",
    ).tag(config=True)

    max_memory = Unicode(
        "",
        help="Most memory any lesson container gets, whatever its environment asks (e.g. ``8G``).",
    ).tag(config=True)

    max_cpus = Float(
        0.0, help="Most CPUs any lesson container gets (0: no cap)."
    ).tag(config=True)

    default_pids = Int(
        1024, help="Process limit of a lesson container whose environment names none."
    ).tag(config=True)

    max_pids = Int(
        8192, help="Highest process limit an environment may ask for (0: no cap)."
    ).tag(config=True)

    default_shm = Unicode(
        "256M",
        help="""Size of /dev/shm in a lesson container whose environment names none (Docker's own
        default, 64M, is too small for PyTorch data loaders).""",
    ).tag(config=True)

    max_shm = Unicode(
        "4G", help="Largest /dev/shm an environment may ask for (empty: no cap)."
    ).tag(config=True)

    gpu_idle_timeout = Int(
        900,
        help="""Seconds a GPU lesson server may sit idle (no kernel busy, no request) before it
        culls its kernels and stops itself, giving its GPU back sooner than the hub's idle culler
        would (0: never). Applies to environments with ``gpu`` > 0.""",
    ).tag(config=True)

    drop_capabilities = Bool(
        True,
        help="""Run lesson containers with every Linux capability dropped and
        ``no-new-privileges``; learners need none of them.""",
    ).tag(config=True)

    def resolve_limits(self, ref) -> Limits:
        """The limits of lesson ``ref``'s container: its environment's ask, the defaults, the caps."""
        limits = resolve_limits(
            ref.environment.resources,
            {"memory": self.default_memory or self.mem_limit, "cpus": self.cpu_limit,
             "pids": self.default_pids, "shm": self.default_shm},
            {"memory": self.max_memory, "cpus": self.max_cpus, "pids": self.max_pids,
             "shm": self.max_shm},
        )
        if limits.capped:
            self.log.warning("Lesson %s asks for more %s than this hub allows; capped",
                             ref.key, " and ".join(limits.capped))
        return limits

    def get_args(self):
        args = super().get_args()
        ref = getattr(self, "lesson_ref", None)
        if ref is not None and ref.environment.gpu and self.gpu_idle_timeout > 0:
            timeout = self.gpu_idle_timeout
            args += [f"--ServerApp.shutdown_no_activity_timeout={timeout}",
                     f"--MappingKernelManager.cull_idle_timeout={timeout}",
                     f"--MappingKernelManager.cull_interval={max(timeout // 10, 10)}"]
        return args
