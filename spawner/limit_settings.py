"""The hub-wide resource defaults and caps of lesson servers, and how their values are checked.

Every lesson server runs with a memory, CPU, process and ``/dev/shm`` limit: an environment's
``resources`` in course.yaml may ask for less or more, the defaults fill what it leaves out and
the caps bound it (``limits.resolve_limits``). The values come from the ``LessonLimits``
settings (``c.LessonSpawner.default_memory`` …), which ``hub_config/jupyterhub_config.py`` sets
from ``LMS_DEFAULT_*`` and ``LMS_MAX_*`` environment variables with ``apply_env_settings``. A
value that is not what it should be (``2GB``, ``-1``, ``lots``) stops the hub at start-up with a
message that names the variable, rather than leaving lesson servers without a limit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from lms_extension.content.model import parse_bytes

MiB = 2**20

# setting -> its built-in value (the traitlets' defaults; the README's Configuration table)
DEFAULTS = {
    "default_memory": "2G",
    "max_memory": "8G",
    "default_cpus": 1.0,
    "max_cpus": 4.0,
    "default_pids": 1024,
    "max_pids": 8192,
    "default_shm": "256M",
    "max_shm": "4G",
}

# environment variable -> the LessonLimits setting it sets
ENV_SETTINGS = {
    "LMS_DEFAULT_MEMORY": "default_memory",
    "LMS_MAX_MEMORY": "max_memory",
    "LMS_DEFAULT_CPUS": "default_cpus",
    "LMS_MAX_CPUS": "max_cpus",
    "LMS_DEFAULT_PIDS": "default_pids",
    "LMS_MAX_PIDS": "max_pids",
    "LMS_DEFAULT_SHM": "default_shm",
    "LMS_MAX_SHM": "max_shm",
}

# smallest accepted values: a Jupyter server and a kernel need this much to start at all
MIN_MEMORY = 64 * MiB
MIN_SHM = MiB
MIN_PIDS = 64
MIN_CPUS, MAX_CPUS = 0.01, 256.0  # Docker's shortest CPU quota is 1% of its period


class LimitSettingError(ValueError):
    """A resource setting whose value cannot be a limit; the message names the setting."""


def check_size(name: str, value, minimum: int) -> int:
    """``value`` (``512M``, ``2G``, or bytes) as bytes, at least ``minimum``."""
    try:
        plain = isinstance(value, int) and not isinstance(value, bool)
        size = value if plain else parse_bytes(value)
    except ValueError:
        raise LimitSettingError(f"{name}: {value!r} is not a size like 512M or 2G") from None
    if size < minimum:
        raise LimitSettingError(
            f"{name}: {value!r} is less than the smallest accepted size, {minimum // MiB}M"
        )
    return size


def check_cpus(name: str, value) -> float:
    """``value`` as a number of CPUs from 0.01 to 256 (``0.5``, ``2``)."""
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise LimitSettingError(
            f"{name}: {value!r} is not a number of CPUs like 0.5 or 2") from None
    if not MIN_CPUS <= cpus <= MAX_CPUS:  # also refuses nan and inf
        raise LimitSettingError(
            f"{name}: {value!r} is not a number of CPUs from {MIN_CPUS:g} to {MAX_CPUS:g}"
        )
    return cpus


def check_pids(name: str, value) -> int:
    """``value`` as a process limit: a whole number of at least 64 (Docker's -1 is no limit)."""
    try:
        pids = int(str(value).strip())
    except ValueError:
        raise LimitSettingError(f"{name}: {value!r} is not a whole number of processes") from None
    if pids < MIN_PIDS:
        raise LimitSettingError(f"{name}: {value!r} is less than {MIN_PIDS} processes")
    return pids


_CHECKS = {
    "memory": lambda name, value: check_size(name, value, MIN_MEMORY),
    "shm": lambda name, value: check_size(name, value, MIN_SHM),
    "cpus": check_cpus,
    "pids": check_pids,
}


def check_setting(setting: str, value, name: str | None = None):
    """Check ``value`` for the LessonLimits ``setting`` (e.g. ``default_memory``); the error
    names ``name`` (the variable or trait it came from), or the setting."""
    return _CHECKS[setting.split("_", 1)[1]](name or setting, value)


def settings_from_env(environ: Mapping[str, str]) -> dict:
    """The LessonLimits settings that ``environ``'s ``LMS_DEFAULT_*``/``LMS_MAX_*`` variables
    set (unset or empty ones are left out), checked; ``LimitSettingError`` names the variable.

    A default above its cap is refused too: the cap would silently lower every lesson.
    """
    settings: dict = {}
    checked: dict = {}
    for variable, setting in ENV_SETTINGS.items():
        raw = environ.get(variable, "").strip()
        if raw:
            checked[setting] = check_setting(setting, raw, variable)
            settings[setting] = raw if setting.endswith(("memory", "shm")) else checked[setting]
        else:
            checked[setting] = check_setting(setting, DEFAULTS[setting])
    by_setting = {setting: variable for variable, setting in ENV_SETTINGS.items()}
    for what in ("memory", "cpus", "pids", "shm"):
        default, cap = f"default_{what}", f"max_{what}"
        if checked[default] > checked[cap]:
            shown = {s: environ.get(by_setting[s], "").strip() or DEFAULTS[s]
                     for s in (default, cap)}
            raise LimitSettingError(
                f"{by_setting[default]}: {shown[default]!r} is more than {by_setting[cap]} "
                f"({shown[cap]!r}); raise the cap or lower the default"
            )
    return settings


def apply_env_settings(section, environ: Mapping[str, str] = os.environ) -> None:
    """Set the resource settings of a spawner's config ``section`` (``c.LessonSpawner``) from
    ``environ``; a bad value stops the hub's start with the message alone, no traceback."""
    try:
        settings = settings_from_env(environ)
    except LimitSettingError as exc:
        raise SystemExit(f"Lesson server limits: {exc}") from None
    for setting, value in settings.items():
        section[setting] = value
