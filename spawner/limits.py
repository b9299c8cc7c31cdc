"""Resources and hardening of lesson containers.

An environment may ask for memory, CPUs, processes and shared memory (``resources`` in
course.yaml); the hub's defaults fill what it leaves out and the hub's caps have the last word,
so every lesson server has all four limits. Every lesson container also runs with all Linux
capabilities dropped and no way to gain privileges, and never gets the Docker socket (a Swarm
service as far as Swarm allows: see ``swarm_spawner``); a deployment's own Docker settings add
to that and never take it away (``hardening``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from traitlets import Bool, Float, Int, TraitError, Unicode, default, validate
from traitlets.config import Configurable

from lms_extension.content.model import Resources, parse_bytes

from .limit_settings import DEFAULTS, LimitSettingError, check_setting

CPU_PERIOD = 100_000


@dataclass
class Limits:
    memory: int | None = None  # bytes
    cpus: float | None = None
    pids: int | None = None
    shm: int | None = None  # bytes
    capped: list[str] = field(default_factory=list)  # what the hub's caps lowered

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
    applies ``limits`` to what it creates: a container's host config, a service's spec).

    Every lesson server gets a memory, CPU, process and /dev/shm limit: the ``default_*`` values
    fill what its environment leaves out, the ``max_*`` caps bound what it asks for.
    ``hub_config/jupyterhub_config.py`` sets them from ``LMS_DEFAULT_*``/``LMS_MAX_*``
    (``limit_settings``); a value that cannot be a limit is refused with a message naming it.
    """

    limits: Limits | None = None

    default_memory = Unicode(
        DEFAULTS["default_memory"],
        help=f"""Memory of a lesson server whose environment names none (``512M``, ``2G``; at
        least 64M). Default: DockerSpawner's ``mem_limit`` if set, else
        {DEFAULTS["default_memory"]}.""",
    ).tag(config=True)

    @default("default_memory")
    def _default_default_memory(self):
        memory = getattr(self, "mem_limit", None)
        return str(memory) if memory else DEFAULTS["default_memory"]

    max_memory = Unicode(
        DEFAULTS["max_memory"],
        help="""Most memory any lesson server gets, whatever its environment asks (e.g. ``8G``;
        empty: no cap).""",
    ).tag(config=True)

    default_cpus = Float(
        DEFAULTS["default_cpus"],
        help=f"""CPUs of a lesson server whose environment names none (e.g. ``0.5``, ``2``).
        Default: DockerSpawner's ``cpu_limit`` if set, else {DEFAULTS["default_cpus"]:g}.""",
    ).tag(config=True)

    @default("default_cpus")
    def _default_default_cpus(self):
        return getattr(self, "cpu_limit", None) or DEFAULTS["default_cpus"]

    max_cpus = Float(
        DEFAULTS["max_cpus"], help="Most CPUs any lesson server gets (0: no cap)."
    ).tag(config=True)

    default_pids = Int(
        DEFAULTS["default_pids"],
        help="Process (and thread) limit of a lesson server whose environment names none.",
    ).tag(config=True)

    max_pids = Int(
        DEFAULTS["max_pids"], help="Highest process limit an environment may ask for (0: no cap)."
    ).tag(config=True)

    default_shm = Unicode(
        DEFAULTS["default_shm"],
        help="""Size of /dev/shm in a lesson server whose environment names none (Docker's own
        default, 64M, is too small for PyTorch data loaders).""",
    ).tag(config=True)

    max_shm = Unicode(
        DEFAULTS["max_shm"], help="Largest /dev/shm an environment may ask for (empty: no cap)."
    ).tag(config=True)

    @validate("default_memory", "default_cpus", "default_pids", "default_shm")
    def _validate_default(self, proposal):
        return self._checked(proposal, allow_none=False)

    @validate("max_memory", "max_cpus", "max_pids", "max_shm")
    def _validate_cap(self, proposal):
        return self._checked(proposal, allow_none=True)

    def _checked(self, proposal, allow_none: bool):
        """A limit setting's value as it was given, once it has passed ``check_setting``."""
        name, value = proposal.trait.name, proposal.value
        if allow_none and value in ("", 0, 0.0):  # caps may be off
            return value
        try:
            check_setting(name, value, f"{type(self).__name__}.{name}")
        except LimitSettingError as exc:
            raise TraitError(str(exc)) from None
        return value

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
            {"memory": self.default_memory, "cpus": self.default_cpus,
             "pids": self.default_pids, "shm": self.default_shm},
            {"memory": self.max_memory, "cpus": self.max_cpus, "pids": self.max_pids,
             "shm": self.max_shm},
        )
        if limits.capped:
            self.log.warning("Lesson %s asks for more %s than this hub allows; capped",
                             ref.key, " and ".join(limits.capped))
        return limits

    def log_hardening_notes(self, setting: str, notes: list[str]) -> None:
        """Warn about what a deployment's ``setting`` asked for and did not get."""
        for note in notes:
            self.log.warning("Lesson server %s: %s %s", self.object_name, setting, note)

    def get_args(self):
        args = super().get_args()
        ref = getattr(self, "lesson_ref", None)
        if ref is not None and ref.environment.gpu and self.gpu_idle_timeout > 0:
            timeout = self.gpu_idle_timeout
            args += [f"--ServerApp.shutdown_no_activity_timeout={timeout}",
                     f"--MappingKernelManager.cull_idle_timeout={timeout}",
                     f"--MappingKernelManager.cull_interval={max(timeout // 10, 10)}"]
        return args
