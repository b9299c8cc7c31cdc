"""How a deployment's own Docker settings meet a lesson server's limits and hardening.

A deployment may give lesson servers more Docker settings: ``extra_host_config`` for containers
(``LessonSpawner``), ``extra_container_spec``, ``extra_resources_spec`` and ``extra_task_spec``
for Swarm services (``LessonSwarmSpawner``). What they set is added to what the spawner sets,
and never takes the hardening or the limits away:

- ``privileged`` is always false;
- while ``drop_capabilities`` is on (the default): ``cap_drop`` always holds ``ALL`` (the
  configured entries are kept beside it), ``cap_add`` is not applied, ``security_opt`` always
  holds ``no-new-privileges`` and loses the entries that switch a protection off
  (``no-new-privileges:false``, ``seccomp=unconfined``, ``apparmor=unconfined``,
  ``systempaths=unconfined``, ``label=disable``); a Swarm service keeps ``NoNewPrivileges`` and
  loses unconfined seccomp or AppArmor in its ``privileges``;
- memory, CPUs, processes and ``/dev/shm`` may be lowered, never raised or removed: the lower of
  the configured value and the lesson's own limit applies, and a configured "no limit" (``0``,
  ``-1``) is ignored;
- no swap beyond the memory limit unless a finite ``memswap_limit`` above it is configured, and
  the kernel's OOM killer stays on (``oom_kill_disable`` is not applied): a learner who asks
  for more memory than the limit loses that process, not the machine;
- the Docker socket is never mounted: a bind or mount of it stops the start.

Everything else (devices, ``cpuset_cpus``, ``ulimits``, DNS, …) is the deployment's to add.
Each merge function returns the merged settings and notes of what it did not apply, which the
spawners log as warnings.
"""

from __future__ import annotations

from docker.utils import parse_bytes as docker_bytes

from .limits import CPU_PERIOD, Limits

NO_NEW_PRIVILEGES = "no-new-privileges"
# security_opt entries (key, value) that switch a protection off
_WEAKENING = {
    ("no-new-privileges", "false"),
    ("seccomp", "unconfined"),
    ("apparmor", "unconfined"),
    ("systempaths", "unconfined"),
    ("label", "disable"),
}


class DockerSocketRefused(RuntimeError):
    """A configured bind or mount would give a lesson server the Docker socket."""


def _union(configured, required: list[str]) -> list[str]:
    merged = list(configured or [])
    merged += [item for item in required if item not in merged]
    return merged


def _weakens(option: str) -> bool:
    key, _, value = option.replace("=", ":", 1).partition(":")
    return (key.strip().lower(), value.strip().lower()) in _WEAKENING


def _configured_number(value, parse=float) -> float | None:
    """A configured limit as a number; None for "no limit" (unset, 0, negative)."""
    if value in (None, "", False):
        return None
    number = parse(value)
    return number if number > 0 else None


def _lower(ours, configured, key: str, notes: list[str]):
    """The lower of the lesson's limit and a configured one; a note when the configured value
    would have raised or removed the limit."""
    if configured is None:
        return ours
    if ours is None or configured <= ours:
        return configured
    shown = [int(v) if float(v).is_integer() else v for v in (configured, ours)]
    notes.append(f"{key} {shown[0]} is above the lesson server's limit, {shown[1]}, which stays")
    return ours


def _refuse_docker_socket(config: dict) -> None:
    binds = config.get("binds") or {}
    sources = list(binds) if isinstance(binds, dict) else [str(b).split(":", 1)[0] for b in binds]
    sources += [str(m.get("Source") or m.get("source") or "") for m in config.get("mounts") or []
                if isinstance(m, dict)]
    for source in sources:
        if str(source).rstrip("/").endswith("docker.sock"):
            raise DockerSocketRefused(
                f"refusing to mount {source} into a lesson server (extra_host_config): the "
                "Docker socket gives whoever holds it the host"
            )


def harden_host_config(configured: dict | None, limits: Limits,
                       drop_capabilities: bool = True) -> tuple[dict, list[str]]:
    """A container's host config (docker-py names): ``configured`` (the deployment's
    ``extra_host_config`` and the GPU settings) with the lesson's ``limits`` and the hardening
    enforced as the module says. Returns it and notes of what was not applied."""
    config = dict(configured or {})
    notes: list[str] = []
    _refuse_docker_socket(config)
    if config.get("privileged"):
        notes.append("privileged: lesson servers never run privileged")
    config["privileged"] = False
    if config.pop("oom_kill_disable", False):
        notes.append("oom_kill_disable: the OOM killer stays on for lesson servers")
    if drop_capabilities:
        config["cap_drop"] = _union(config.get("cap_drop"), ["ALL"])
        if config.pop("cap_add", None):
            notes.append("cap_add: every capability stays dropped (drop_capabilities)")
        options = []
        for option in config.get("security_opt") or []:
            if _weakens(option):
                notes.append(f"security_opt {option!r}: lesson servers keep that protection")
            else:
                options.append(option)
        config["security_opt"] = _union(options, [NO_NEW_PRIVILEGES])

    memory = _lower(limits.memory, _configured_number(config.get("mem_limit"), docker_bytes),
                    "mem_limit", notes)
    if memory:
        config["mem_limit"] = int(memory)
        swap = _configured_number(config.get("memswap_limit"), docker_bytes)
        config["memswap_limit"] = int(swap) if swap and swap >= memory else int(memory)

    nano = _configured_number(config.pop("nano_cpus", None))
    period = int(_configured_number(config.get("cpu_period"), int) or CPU_PERIOD)
    quota = _configured_number(config.get("cpu_quota"), int)
    asked = [c for c in (nano / 1e9 if nano else None, quota / period if quota else None) if c]
    cpus = _lower(limits.cpus, min(asked) if asked else None, "CPU limit", notes)
    if cpus:
        config.update(cpu_period=period, cpu_quota=int(cpus * period))

    pids = _lower(limits.pids, _configured_number(config.get("pids_limit"), int),
                  "pids_limit", notes)
    if pids:
        config["pids_limit"] = int(pids)
    shm = _lower(limits.shm, _configured_number(config.get("shm_size"), docker_bytes),
                 "shm_size", notes)
    if shm:
        config["shm_size"] = int(shm)
    return config, notes


def harden_container_spec(configured: dict | None, drop_capabilities: bool = True,
                          no_new_privileges: bool = True) -> tuple[dict, list[str]]:
    """A Swarm service's ContainerSpec settings (docker-py names): ``configured``
    (``extra_container_spec``) with the hardening enforced; ``no_new_privileges`` where the
    engine's API has it for services (1.44 and later)."""
    spec = dict(configured or {})
    notes: list[str] = []
    if not drop_capabilities:
        return spec, notes
    spec["cap_drop"] = _union(spec.get("cap_drop"), ["ALL"])
    if spec.pop("cap_add", None):
        notes.append("cap_add: every capability stays dropped (drop_capabilities)")
    privileges = dict(spec.get("privileges") or {})
    for key, off in (("Seccomp", "unconfined"), ("AppArmor", "disabled")):
        if str((privileges.get(key) or {}).get("Mode", "")).lower() == off:
            notes.append(f"privileges {key} {off}: lesson servers keep that protection")
            del privileges[key]
    if no_new_privileges:
        privileges["NoNewPrivileges"] = True
    if privileges:
        spec["privileges"] = privileges
    else:
        spec.pop("privileges", None)
    return spec, notes


def harden_service_limits(ours: dict, configured: dict | None) -> tuple[dict, list[str]]:
    """A Swarm service's ``Resources.Limits`` (Engine API names): the lesson's ``ours`` lowered
    by ``configured`` (from ``extra_resources_spec`` or ``extra_task_spec``), never raised."""
    merged = {**(configured or {}), **ours}
    notes: list[str] = []
    for key in ("MemoryBytes", "NanoCPUs", "Pids"):
        value = _lower(ours.get(key), _configured_number((configured or {}).get(key), int),
                       key, notes)
        if value:
            merged[key] = int(value)
    return merged, notes
