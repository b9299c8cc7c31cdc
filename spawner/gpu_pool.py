"""The hub's GPU inventory: which lesson server holds which GPU.

One pool per hub process (all ``LessonSpawner`` instances share it). A slot is one share of
one device: with ``shares_per_device=1`` (the default) a card belongs to one server at a time.
Allocation is synchronous and the hub runs one event loop, so concurrent spawns cannot take
the same slot. Servers are keyed by their container name.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import dataclass, field

_REGISTRY: dict = {}


class NoGpuFree(Exception):
    """Fewer free devices than a lesson asks for."""


@dataclass
class GpuPool:
    devices: list[str]
    shares_per_device: int = 1
    # owner (container name) -> device ids it holds
    holders: dict[str, list[str]] = field(default_factory=dict)
    # whether this hub process has counted the running containers' GPUs yet
    scanned: bool = False
    scan_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @classmethod
    def shared(cls, devices: list[str], shares_per_device: int = 1) -> GpuPool:
        """The pool for this inventory in this process (created on first use)."""
        key = (tuple(devices), shares_per_device)
        if key not in _REGISTRY:
            _REGISTRY[key] = cls(list(devices), shares_per_device)
        return _REGISTRY[key]

    @property
    def capacity(self) -> int:
        return len(self.devices) * self.shares_per_device

    def _use(self) -> dict[str, int]:
        use = dict.fromkeys(self.devices, 0)
        for ids in self.holders.values():
            for device in ids:
                if device in use:
                    use[device] += 1
        return use

    def free_count(self) -> int:
        """Free slots (with sharing, a device with a free share counts once per share)."""
        return sum(self.shares_per_device - n for n in self._use().values())

    def free_devices(self) -> int:
        """Devices a one-GPU lesson could be given now."""
        return sum(1 for n in self._use().values() if n < self.shares_per_device)

    def allocate(self, owner: str, count: int) -> list[str]:
        """Give ``owner`` ``count`` distinct devices (the least used first); raise NoGpuFree."""
        self.release(owner)
        use = self._use()
        candidates = sorted(
            (d for d, n in use.items() if n < self.shares_per_device),
            key=lambda d: (use[d], self.devices.index(d)),
        )
        if len(candidates) < count:
            raise NoGpuFree(
                f"{count} GPU(s) needed, {len(candidates)} of {len(self.devices)} free"
            )
        ids = candidates[:count]
        self.holders[owner] = ids
        return ids

    def claim(self, owner: str, ids: list[str]) -> None:
        """Record that ``owner`` holds ``ids`` (from saved state or a running container)."""
        known = [i for i in ids if i in self.devices]
        if known:
            self.holders[owner] = known

    def release(self, owner: str) -> list[str]:
        """Free what ``owner`` holds; return the ids freed."""
        return self.holders.pop(owner, [])



def detect_gpus(nvidia_smi: str = "nvidia-smi") -> list[str]:
    """GPU indexes that ``nvidia-smi`` lists, or [] without it (MIG instances: configure ids)."""
    exe = shutil.which(nvidia_smi)
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]
