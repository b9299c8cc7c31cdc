"""The host side of warm lesson pools: slot folders and the learner's home mounted into them.

Every pooled container has its home folder bind-mounted from a slot folder of its own,
``<slots_dir>/<slot>``, with ``rslave`` propagation. ``slots_dir`` is made a shared mount once
(``mount --bind D D; mount --make-rshared D``), so a mount made later on the slot folder on the
host appears at once inside the container: claiming a pooled container for a learner is
``mount --bind <their home volume's folder> <slot>``. A slot folder is empty, owned by root and
read-only for everyone else, so an unclaimed container can neither store anything in it nor
see anyone's home; it is used for one container only and removed when that container stops.

Everything here needs root on the Docker host (the hub's machine, not a Swarm).
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import secrets
import subprocess
import tarfile

from docker.errors import NotFound


class PoolMountError(RuntimeError):
    """A slot folder or the shared mount cannot be set up (typically: the hub is not root)."""


def _run(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode:
        raise PoolMountError(f"{' '.join(args)}: {done.stderr.strip() or done.returncode}")


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def is_mounted(path: str) -> bool:
    """Whether something is mounted on ``path`` (``os.path.ismount`` misses a bind mount from
    the same file system)."""
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as mountinfo:
        return any(_unescape(line.split()[4]) == path for line in mountinfo if line.strip())


def ensure_shared(slots_dir: str) -> None:
    """Make ``slots_dir`` a shared mount point (once; idempotent)."""
    os.makedirs(slots_dir, mode=0o755, exist_ok=True)
    if not is_mounted(slots_dir):
        _run("mount", "--bind", slots_dir, slots_dir)
    _run("mount", "--make-rshared", slots_dir)


def new_slot(slots_dir: str) -> str:
    """A new, empty slot folder (root-owned, mode 0555) under ``slots_dir``."""
    path = os.path.join(slots_dir, secrets.token_hex(8))
    os.mkdir(path, 0o555)
    os.chmod(path, 0o555)
    return path


def attach(slot: str, source: str) -> None:
    """Mount the host folder ``source`` (a home volume's data) on ``slot``."""
    if is_mounted(slot):
        raise PoolMountError(f"slot {slot} is already in use")
    _run("mount", "--bind", source, slot)


def release(slot: str) -> None:
    """Unmount whatever is mounted on ``slot`` and remove the (then empty) folder."""
    if not slot or not os.path.isdir(slot):
        return
    while is_mounted(slot):
        _run("umount", slot)
    try:
        os.rmdir(slot)
    except OSError as exc:  # never remove anything that is not an empty slot folder
        raise PoolMountError(f"slot {slot} is not empty after unmounting: {exc}") from None


def slots(slots_dir: str) -> list[str]:
    """The slot folders under ``slots_dir``."""
    try:
        names = os.listdir(slots_dir)
    except FileNotFoundError:
        return []
    return [os.path.join(slots_dir, n) for n in names if os.path.isdir(os.path.join(slots_dir, n))]


def fill_new_home(target: str, archive: bytes) -> None:
    """Give a new, empty home volume the image's home folder (``archive``: ``docker cp``'s tar
    of it), with its owners and modes, as Docker does when it first mounts a new volume."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = tar.getmembers()
        if not members:
            return
        top = members[0].name.split("/", 1)[0]
        inner = []
        for member in members:
            if member.name == top:
                os.chown(target, member.uid, member.gid)
                os.chmod(target, member.mode & 0o7777)
                continue
            member.name = member.name.split("/", 1)[1]
            inner.append(member)
        tar.extractall(target, members=inner, numeric_owner=True, filter="tar")


async def image_home(spawner, archives: dict) -> bytes:
    """The home folder of ``spawner.image`` as ``docker cp`` gives it (a tar), kept in
    ``archives`` per image."""
    image = spawner.image
    if image not in archives:
        made = await spawner.docker("create_container", image, command=["true"],
                                    network_disabled=True)
        try:
            stream, _ = await spawner.docker("get_archive", made["Id"], spawner.notebook_dir)
            archives[image] = await asyncio.get_running_loop().run_in_executor(
                None, lambda: b"".join(stream))
        finally:
            await spawner.docker("remove_container", made["Id"], force=True)
    return archives[image]


async def learner_home(spawner, archives: dict) -> str:
    """The host folder of ``spawner``'s learner's home volume: made when missing, and given the
    image's home folder when new, as Docker does when it first mounts a volume."""
    name = spawner.format_volume_name(spawner.home_volume_name_template, spawner)
    try:
        info = await spawner.docker("inspect_volume", name)
    except NotFound:
        info = await spawner.docker("create_volume", name)
    if info.get("Driver") != "local" or info.get("Options"):
        raise PoolMountError(f"home volume {name} is not a plain local volume")
    path = info["Mountpoint"]
    if not os.listdir(path) and os.stat(path).st_uid == 0:
        archive = await image_home(spawner, archives)
        await asyncio.get_running_loop().run_in_executor(None, fill_new_home, path, archive)
    return path
