"""``PoolClaim``: the part of ``LessonSpawner`` that starts a lesson by claiming a warm server.

When the hub's :class:`~.lesson_pool.LessonPool` has a ready server of the lesson being started,
built as this start would build it (same environment, image, limits and GPU count), the start
takes it instead of creating a container:

1. the learner's home volume is mounted over the pooled container's empty home slot;
2. the container is renamed to this server's container name, so everything that follows (the
   hub's state, ``poll``, ``stop``, the GPU books) treats it as this learner's server;
3. the learner's environment (``get_env()``: ``JUPYTERHUB_USER``, this start's API token and
   OAuth client, ``LMS_*``) and command are handed to the waiting process through ``docker
   exec``'s standard input; it starts the single-user server with them, in the learner's home;
4. ``start()`` returns the container's address, and the hub routes ``/user/<name>/`` to it.

A pooled server's GPUs pass to the learner with it. If anything fails, the pooled container is
removed and the start goes on as a normal one. Previews and a learner's kept container
(``remove=False``) always start normally. (With host networking the port is chosen before the
claim, and the claimed server listens on it.) A pooled container that ever stops is never
started again: its name and home mount were its one learner's.

The same class builds the pooled containers (``pool_placeholder``): there, the environment holds
no identity at all, the command is the waiting entry (:mod:`.pool_entry`, mounted read-only),
and the home folder is the slot folder, with mount propagation from the host.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time

from docker.types import Mount
from traitlets.config import Configurable

from . import pool_mounts
from .lesson_pool import LESSON_LABEL, POOL_LABEL, LessonPool, PoolUnavailable, Slot

ENTRY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pool_entry.py")
ENTRY_IN_CONTAINER = "/srv/lms/pool-entry.py"


def _hand_over(client, container_id: str, data: bytes) -> tuple[int, str]:
    """Run the entry's hand-over in the container with ``data`` on its standard input."""
    exec_id = client.exec_create(container_id, ["python3", ENTRY_IN_CONTAINER, "--hand-over"],
                                 stdin=True, stdout=True, stderr=True)["Id"]
    sock = client.exec_start(exec_id, socket=True)
    raw = getattr(sock, "_sock", sock)
    try:
        raw.sendall(data)
        raw.shutdown(socket.SHUT_WR)
        output = b""
        while chunk := raw.recv(65536):
            output += chunk
    finally:
        sock.close()
    for _ in range(100):
        info = client.exec_inspect(exec_id)
        if not info.get("Running"):
            return info.get("ExitCode") or 0, output.decode("utf-8", "replace")
        time.sleep(0.02)
    return -1, "the hand-over did not finish"


class PoolClaim(Configurable):
    """Claim a warm lesson server when the hub's pool has one (see the module)."""

    pool_placeholder = False  # this spawner builds a pooled container
    pool_slot: Slot | None = None  # reserved for this start
    pool_slot_dir = ""  # the home slot of the claimed container this server runs in

    # -- what makes two lesson servers interchangeable -----------------------------------------

    def pool_fingerprint(self, ref) -> tuple:
        limits = self.resolve_limits(ref)
        return (ref.key, ref.environment_name, ref.environment.image, ref.environment.gpu,
                limits.memory, limits.cpus, limits.pids, limits.shm, self.network_name)

    def prepare_pooled(self, ref, version, name: str, slot_dir: str) -> None:
        """Set this placeholder up to build pooled container ``name`` of lesson ``ref``."""
        self.lesson_ref = ref
        self.content_version = version.sha
        self.content_path = str(version.path)
        self.image = ref.environment.image
        self.limits = self.resolve_limits(ref)
        self.object_name = name  # after the image: a new image renders the name anew
        self.pool_slot_dir = slot_dir

    def _may_claim(self) -> bool:
        return (not self.pool_placeholder and not (self.user_options or {}).get("preview")
                and LessonPool.current() is not None)

    # -- hooks ---------------------------------------------------------------------------------

    async def take_gpus(self, ref):
        """Reserve a ready pooled server of the lesson, with its GPUs; else take GPUs as a
        normal start does."""
        self._discard_reserved()
        pool = LessonPool.current()
        if (self._may_claim() and pool.ready(ref.key)
                and (self.remove or await self.get_object() is None)):
            slot = pool.reserve(ref.key, self.pool_fingerprint(ref))
            if slot is not None:
                self.gpu_pool.release(self.gpu_owner)
                ids = self.gpu_pool.release(slot.name)
                if ids:
                    self.gpu_pool.claim(self.gpu_owner, ids)
                self.gpu_device_ids = ids
                self.pool_slot = slot
                return ref
        return await super().take_gpus(ref)

    async def start(self):
        slot, self.pool_slot = self.pool_slot, None
        if slot is None:
            return await super().start()
        pool = LessonPool.current()
        try:
            return await self._claim(pool, slot)
        except Exception as exc:
            self.log.warning("Could not claim pooled server %s for %s (%s): starting one",
                             slot.name, self._log_name, exc)
            await pool.discard(self, slot)
            self.pool_slot_dir = ""
            self.object_id = ""
            return await super().start()

    async def _claim(self, pool: LessonPool, slot: Slot):
        began = asyncio.get_running_loop().time()
        if await self.get_object() is not None:  # a leftover of this server (remove=True)
            await self.remove_object()
            self.object_id = ""
        self.pool_slot_dir = slot.dir

        async def mount_home():
            home = await pool.home_source(self)
            await asyncio.get_running_loop().run_in_executor(None, pool_mounts.attach,
                                                             slot.dir, home)

        # independent steps at once; each one finishes before a failure is acted on
        done = await asyncio.gather(mount_home(), self.get_command(),
                                    self.docker("rename", slot.container_id, self.object_name),
                                    return_exceptions=True)
        failed = [r for r in done if isinstance(r, BaseException)]
        if failed:
            raise failed[0]
        self.object_id = slot.container_id
        claim = {"env": self.get_env(), "argv": done[1], "cwd": self.notebook_dir}
        code, output = await asyncio.get_running_loop().run_in_executor(
            None, _hand_over, self.client, slot.container_id, json.dumps(claim).encode())
        if code:
            raise PoolUnavailable(f"hand-over failed ({code}): {output.strip()[-300:]}")
        self.log.info("%s claimed pooled server %s of %s in %.2f s", self._log_name, slot.name,
                      slot.lesson, asyncio.get_running_loop().time() - began)
        return await self.get_ip_and_port()

    def _discard_reserved(self) -> None:
        slot, self.pool_slot = self.pool_slot, None
        pool = LessonPool.current()
        if slot is not None and pool is not None:
            asyncio.ensure_future(pool.discard(self, slot))

    def clear_state(self):
        super().clear_state()
        self._discard_reserved()

    async def stop(self, now=False):
        slot_dir = self.pool_slot_dir
        try:
            await super().stop(now=now)
        finally:
            if slot_dir:
                self.pool_slot_dir = ""
                await asyncio.get_running_loop().run_in_executor(None, pool_mounts.release,
                                                                 slot_dir)

    def get_state(self):
        state = super().get_state()
        if self.pool_slot_dir and self.object_id:
            state["pool_slot"] = self.pool_slot_dir
        return state

    def load_state(self, state):
        super().load_state(state)
        self.pool_slot_dir = state.get("pool_slot", "")

    # -- building a pooled container (pool_placeholder) -----------------------------------------

    def get_env(self):
        if self.pool_placeholder:
            return {}  # nobody's: no user, token or OAuth client
        return super().get_env()

    async def get_command(self):
        if self.pool_placeholder:
            return ["python3", ENTRY_IN_CONTAINER]
        return await super().get_command()

    @property
    def volume_binds(self):
        binds = super().volume_binds
        if not self.pool_placeholder:
            return binds
        for source, target in list(binds.items()):
            if target["bind"] == self.notebook_dir:
                binds.pop(source)  # the home folder is the slot
            elif self.user.name in str(source):
                raise PoolUnavailable(f"volume {source} is per learner: a pooled server "
                                      "can only take the learner's home")
        binds[ENTRY] = {"bind": ENTRY_IN_CONTAINER, "mode": "ro"}
        return binds

    @property
    def mount_binds(self):
        mounts = super().mount_binds
        if self.pool_placeholder:
            mounts.append(Mount(target=self.notebook_dir, source=self.pool_slot_dir,
                                type="bind", propagation="rslave"))
        return mounts

    async def create_object(self):
        if not self.pool_placeholder:
            return await super().create_object()
        configured = self.extra_create_kwargs

        async def labelled(spawner):
            extra = self._eval_if_callable(configured)
            if hasattr(extra, "__await__"):
                extra = await extra
            extra = dict(extra or {})
            extra["labels"] = {**(extra.get("labels") or {}), POOL_LABEL: self.prefix,
                               LESSON_LABEL: self.lesson_ref.key}
            return extra

        self.extra_create_kwargs = labelled
        try:
            return await super().create_object()
        finally:
            self.extra_create_kwargs = configured
