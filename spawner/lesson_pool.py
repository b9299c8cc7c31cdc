"""Warm lesson pools: pre-started lesson servers, claimed by the first learner who opens the lesson.

``c.LessonPool.warm_lessons = {"dl-basics/numpy-basics": 3}`` (``LMS_WARM_LESSONS``) keeps
three containers of that lesson's environment started and waiting. A pooled container is made
exactly as the lesson's server would be (``LessonSpawner``'s image, network, limits, hardening,
GPUs, the course's learner repo read-only), except that it belongs to nobody yet: its first
process (:mod:`.pool_entry`) waits with no network listener, no token and no user, and its home
folder is an empty slot folder (:mod:`.pool_mounts`).

A learner's start of that lesson (the REST API, the spawn form, ``/hub/lms/open/…``) claims a
ready container instead of creating one (:mod:`.pool_claim`): the hub mounts the learner's home
volume into it, renames it to the learner's server's container name, hands it the learner's
environment (``JUPYTERHUB_USER``, the server's API token and OAuth client, ``LMS_*``) through
``docker exec`` and registers it as the learner's server. The pool then starts a replacement
in the background, once the learners' own starts are served (``refill_pause``). Containers of a lesson that leaves ``warm_lessons``, the ``schedule`` or the catalog, or
whose lesson now runs in another image or with other limits, are removed; so are the pool's
leftovers when the hub starts. GPU lessons hold their GPUs in the hub's GPU pool while they
wait (a claim hands them to the learner), and are warmed only while GPUs are free.

Needs the Docker engine on the hub's machine and root there (for the mounts); not on Swarm. Started by ``hub_config/jupyterhub_config.py`` with
:func:`keep_warm_lessons`.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
from dataclasses import dataclass, field

from docker.errors import APIError
from datetime import UTC, datetime

from traitlets import Dict, Float, Int, List, TraitError, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from . import pool_mounts
from .boot_queue import boots_under_way
from .gpu_pool import NoGpuFree
from .pool_entry import READY
from .pool_schedule import (ScheduleError, merged, parse_sessions, parse_warm_lessons,
                            scheduled_counts)

POOL_LABEL = "org.lms-platform.pool"  # the hub's container prefix
LESSON_LABEL = "org.lms-platform.pool-lesson"


class PoolUnavailable(RuntimeError):
    """The pool cannot serve a claim (the learner gets a normal start)."""


@dataclass(eq=False)
class Slot:
    """One pooled container."""

    lesson: str
    fingerprint: tuple
    name: str  # container name while pooled (also its GPUs' owner in the GPU pool)
    dir: str  # slot folder, mounted at the home folder
    container_id: str = ""
    ready: bool = False
    task: asyncio.Task | None = field(default=None, repr=False)


class _Placeholder:
    """The owner of a pooled container's spawner: a name, and nobody's identity."""

    def __init__(self, name: str):
        self.name = self.escaped_name = name


class LessonPool(LoggingConfigurable):
    """Keeps ``warm_lessons`` started and hands them to the learners who open them."""

    warm_lessons = Dict(
        value_trait=Int(),
        key_trait=Unicode(),
        help="""Lessons to keep warm: ``{"course/lesson": N}`` keeps N servers of the lesson
        started and waiting, each claimed by the next learner who opens that lesson and replaced
        at once in the background (``LMS_WARM_LESSONS="course/lesson=N,…"``). Lessons that
        leave this setting (``PUT /hub/api/lms/pool``) or the catalog have their waiting
        servers removed.""",
    ).tag(config=True)

    @validate("warm_lessons")
    def _check_warm_lessons(self, proposal):
        return parse_warm_lessons(",".join(f"{k}={v}" for k, v in proposal.value.items()),
                                  "LessonPool.warm_lessons")

    schedule = List(
        Dict(),
        help="""Class sessions: ``[{"lesson": "course/lesson", "start":
        "2026-12-02T09:00:00+09:00", "count": 30, "cohort": "fall-a"}]``. From
        ``warm_before`` seconds before a session's start until ``warm_after`` seconds after it,
        ``count`` servers of its lesson are kept waiting (with ``warm_lessons``, the larger
        count); then the lesson leaves the schedule and its waiting servers are removed
        (``LMS_WARM_SCHEDULE``: a JSON file of such a list; ``PUT /hub/api/lms/pool``).""",
    ).tag(config=True)

    @validate("schedule")
    def _check_schedule(self, proposal):
        try:
            parse_sessions(proposal.value, "LessonPool.schedule")
        except ScheduleError as exc:
            raise TraitError(str(exc)) from None
        return proposal.value

    warm_before = Float(
        900.0,
        help="Seconds before a scheduled session's start that its lesson is warmed.",
    ).tag(config=True)

    warm_after = Float(
        1800.0,
        help="""Seconds after a scheduled session's start that its lesson stays warm (for
        late-comers), before it leaves the schedule.""",
    ).tag(config=True)

    slots_dir = Unicode(
        help="""Host folder for the pooled servers' home slots; the hub makes it a shared mount
        (``mount --make-rshared``) and mounts each learner's home volume into a slot when they
        claim a server. Needs root on the Docker host. Default: ``lms-pool-slots`` in the
        hub's working directory.""",
    ).tag(config=True)

    @default("slots_dir")
    def _default_slots_dir(self):
        return os.path.abspath("lms-pool-slots")

    refill_interval = Float(
        10.0,
        help="""Seconds between two checks that every warm lesson has its servers (a claim
        starts its replacement at once; the check also notices dead or outdated ones).""",
    ).tag(config=True)

    max_starting = Int(
        2,
        help="""How many pooled servers start at the same time (refills never crowd out
        learners' own starts).""",
    ).tag(config=True)

    refill_pause = Float(
        5.0,
        help="""Seconds without a claim, and with no learner's server booting or waiting to
        boot, before the pool starts replacements: a class that starts at once gets the CPU for
        its own servers first, and the pool refills after the rush. A replacement waits at most
        60 times this long. ``0``: replacements start at once.""",
    ).tag(config=True)

    ready_timeout = Float(
        120.0,
        help="Seconds a pooled server may take to be ready to be claimed before it is replaced.",
    ).tag(config=True)

    _current: LessonPool | None = None

    def __init__(self, app, **kwargs):
        super().__init__(**kwargs)
        self.app = app
        self.slots: dict[str, list[Slot]] = {}
        self._wake = asyncio.Event()
        self._starting = asyncio.Semaphore(max(self.max_starting, 1))
        self._archives: dict[str, bytes] = {}
        self._reported: set[str] = set()
        self._last_claim = float("-inf")  # the event loop's time of the latest claim

    @classmethod
    def current(cls) -> LessonPool | None:
        """The pool of this hub process (None without warm lessons)."""
        return cls._current

    def utcnow(self) -> datetime:
        """The pool's clock (the schedule's "now")."""
        return datetime.now(UTC)

    def wanted(self) -> dict[str, int]:
        """The lessons to keep warm now and how many servers each: ``warm_lessons`` and the
        sessions of ``schedule`` under way."""
        sessions = parse_sessions(self.schedule)
        return merged(dict(self.warm_lessons),
                      scheduled_counts(sessions, self.utcnow(), self.warm_before,
                                       self.warm_after))

    # -- the claim side (called by the learners' spawners) --------------------------------------

    def ready(self, lesson: str) -> int:
        """How many servers of ``lesson`` wait, ready to be claimed."""
        return sum(slot.ready for slot in self.slots.get(lesson, []))

    def reserve(self, lesson: str, fingerprint: tuple) -> Slot | None:
        """Take a ready server of ``lesson`` built as ``fingerprint`` says, or None.
        Synchronous: concurrent starts never get the same server."""
        for slot in self.slots.get(lesson, []):
            if slot.ready and slot.fingerprint == fingerprint:
                self.slots[lesson].remove(slot)
                self._last_claim = asyncio.get_running_loop().time()
                self.wake()
                return slot
        return None

    def wake(self) -> None:
        self._wake.set()

    async def discard(self, spawner, slot: Slot) -> None:
        """Remove a reserved server that could not be claimed."""
        await self._remove(spawner, slot)

    async def home_source(self, spawner) -> str:
        """The host folder of ``spawner``'s learner's home volume (made when new)."""
        try:
            return await pool_mounts.learner_home(spawner, self._archives)
        except pool_mounts.PoolMountError as exc:
            raise PoolUnavailable(str(exc)) from None

    # -- the pool ---------------------------------------------------------------------------------

    def placeholder(self, name: str):
        """A spawner of the hub's spawner class that builds pooled container ``name``."""
        spawner = self.app.spawner_class(
            config=self.app.config, user=_Placeholder(name), hub=self.app.hub, name="",
            log=self.log,
        )
        spawner.pool_placeholder = True
        return spawner

    def status(self) -> dict:
        return {
            "warm_lessons": dict(self.warm_lessons),
            "schedule": [x.as_dict() for x in parse_sessions(self.schedule)],
            "wanted": self.wanted(),
            "lessons": {key: {"ready": sum(s.ready for s in slots),
                              "starting": sum(not s.ready for s in slots)}
                        for key, slots in sorted(self.slots.items())},
        }

    async def run(self) -> None:
        LessonPool._current = self
        atexit.register(self._remove_all_now)
        await self._remove_leftovers()
        mounted = failed = False
        while True:
            if not mounted and (any(self.warm_lessons.values()) or self.schedule):
                try:
                    pool_mounts.ensure_shared(self.slots_dir)
                    mounted = True
                except (pool_mounts.PoolMountError, OSError) as exc:
                    if not failed:
                        self.log.error("Warm lesson pools are off: %s (the hub needs root on "
                                       "the Docker host; see README, 'Warm lesson pools')", exc)
                    failed = True
            try:
                if mounted:
                    await self.reconcile()
            except Exception:
                self.log.exception("Warm lesson pool check failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.refill_interval)
            except asyncio.TimeoutError:
                pass

    async def reconcile(self) -> None:
        """Bring every warm lesson to its count: remove dead, outdated and unwanted servers,
        start the missing ones."""
        wanted = self.wanted()
        spawner = self.placeholder("lms-pool-check")
        running = {c["Id"] for c in await spawner.docker(
            "containers", filters={"label": f"{POOL_LABEL}={spawner.prefix}"})}
        for key in list(self.slots):
            for slot in list(self.slots[key]):
                gone = slot.ready and slot.container_id not in running
                if gone or not wanted.get(key):
                    self.log.info("Removing pooled server %s of %s (%s)", slot.name, key,
                                  "it stopped" if gone else "no longer warm")
                    await self._remove(spawner, slot)
        for key, count in wanted.items():
            if count <= 0:
                continue
            try:
                fingerprint = await self._fingerprint(key)
            except Exception as exc:  # e.g. the lesson left the catalog
                if key not in self._reported:
                    self.log.warning("Not keeping %s warm: %s", key, getattr(exc, "log_message",
                                                                            None) or exc)
                    self._reported.add(key)
                for slot in list(self.slots.get(key, [])):
                    await self._remove(spawner, slot)
                continue
            self._reported.discard(key)
            slots = self.slots.setdefault(key, [])
            for slot in [s for s in slots if s.fingerprint != fingerprint and s.ready]:
                self.log.info("Replacing pooled server %s: lesson %s changed", slot.name, key)
                await self._remove(spawner, slot)
            surplus = len(slots) - count
            for slot in [s for s in slots if s.ready][:max(surplus, 0)]:
                await self._remove(spawner, slot)
            for _ in range(count - len(slots)):
                self._start(key, fingerprint)

    async def _fingerprint(self, key: str) -> tuple:
        spawner = self.placeholder("lms-pool-check")
        ref, _ = await spawner.resolve_lesson({"lesson": key})
        return spawner.pool_fingerprint(ref)

    def _start(self, key: str, fingerprint: tuple) -> None:
        template = self.placeholder("lms-pool-check")
        name = f"{template.prefix}_pool_{secrets.token_hex(6)}"
        slot = Slot(key, fingerprint, name, "")
        self.slots[key].append(slot)
        slot.task = asyncio.ensure_future(self._fill(slot))

    async def _after_the_rush(self) -> None:
        """Wait until learners have not claimed a server for ``refill_pause`` seconds and none
        of their servers boots or waits to boot (at most 60 × ``refill_pause``)."""
        pause = self.refill_pause
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 60 * pause
        while loop.time() < give_up:
            quiet = loop.time() - self._last_claim
            if quiet >= pause and not boots_under_way():
                return
            await asyncio.sleep(min(max(pause - quiet, 0.2), 1.0))

    async def _fill(self, slot: Slot) -> None:
        async with self._starting:
            spawner = self.placeholder(slot.name)
            try:
                if slot not in self.slots.get(slot.lesson, []):
                    return
                await self._after_the_rush()
                if slot not in self.slots.get(slot.lesson, []):
                    return
                ref, version = await spawner.resolve_lesson({"lesson": slot.lesson})
                if spawner.pool_fingerprint(ref) != slot.fingerprint:
                    raise PoolUnavailable("the lesson changed meanwhile")
                if ref.environment.gpu:
                    await spawner._scan_running_containers()
                    spawner.gpu_device_ids = spawner.gpu_pool.allocate(slot.name,
                                                                       ref.environment.gpu)
                slot.dir = pool_mounts.new_slot(self.slots_dir)
                spawner.prepare_pooled(ref, version, slot.name, slot.dir)
                await spawner.pull_image(spawner.image)
                made = await spawner.create_object()
                slot.container_id = made["Id"]
                await spawner.docker("start", slot.container_id)
                # the image's home folder, ready for a learner with a new home volume
                await pool_mounts.image_home(spawner, self._archives)
                await self._wait_ready(spawner, slot)
            except NoGpuFree as exc:
                self.log.debug("No GPU free to keep %s warm: %s", slot.lesson, exc)
                await self._remove(spawner, slot)
                return
            except Exception as exc:
                self.log.warning("Could not start a pooled server of %s: %s", slot.lesson, exc)
                await self._remove(spawner, slot)
                return
            if slot in self.slots.get(slot.lesson, []):
                slot.ready = True
                self.log.info("Pooled server %s of %s is ready", slot.name, slot.lesson)
            else:  # no longer wanted meanwhile
                await self._remove(spawner, slot)

    async def _wait_ready(self, spawner, slot: Slot) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        while loop.time() < deadline:
            logs = await spawner.docker("logs", slot.container_id, stdout=True, stderr=False)
            if READY.encode() in logs:
                return
            info = await spawner.docker("inspect_container", slot.container_id)
            if not info["State"]["Running"]:
                raise PoolUnavailable(f"it exited: {logs.decode('utf-8', 'replace')[-500:]}")
            await asyncio.sleep(0.1)
        raise PoolUnavailable(f"not ready in {self.ready_timeout:.0f}s")

    async def _remove(self, spawner, slot: Slot) -> None:
        if slot in self.slots.get(slot.lesson, []):
            self.slots[slot.lesson].remove(slot)
        if slot.container_id:
            try:
                await spawner.docker("remove_container", slot.container_id, force=True)
            except APIError as exc:
                if exc.status_code not in (404, 409):
                    self.log.warning("Cannot remove pooled server %s: %s", slot.name, exc)
        spawner.gpu_pool.release(slot.name)
        try:
            pool_mounts.release(slot.dir)
        except pool_mounts.PoolMountError as exc:
            self.log.error("Pooled server %s: %s", slot.name, exc)

    async def _remove_leftovers(self) -> None:
        """At start: remove unclaimed pooled containers of this hub, and free every slot folder
        that no running claimed server uses."""
        spawner = self.placeholder("lms-pool-check")
        found = await spawner.docker("containers", all=True,
                                     filters={"label": f"{POOL_LABEL}={spawner.prefix}"})
        in_use = set()
        for summary in found:
            names = [n.lstrip("/") for n in summary.get("Names") or []]
            if any(n.startswith(f"{spawner.prefix}_pool_") for n in names):
                await spawner.docker("remove_container", summary["Id"], force=True)
            elif summary.get("State") == "running":
                in_use.update(m.get("Source") for m in summary.get("Mounts") or [])
        for path in pool_mounts.slots(self.slots_dir):
            if path not in in_use:
                try:
                    pool_mounts.release(path)
                except pool_mounts.PoolMountError as exc:
                    self.log.error("Warm lesson pools: %s", exc)

    def _remove_all_now(self) -> None:
        """At exit: the waiting (unclaimed) servers go with the hub."""
        spawner = self.placeholder("lms-pool-check")
        for slots in self.slots.values():
            for slot in slots:
                try:
                    if slot.container_id:
                        spawner.client.remove_container(slot.container_id, force=True)
                    pool_mounts.release(slot.dir)
                except Exception as exc:  # noqa: BLE001 (best effort at exit; the next start
                    # removes what is left)
                    self.log.warning("At exit: pooled server %s: %s", slot.name, exc)


def keep_warm_lessons() -> None:
    """From the hub's configuration file: keep the warm lessons of the hub being configured
    (``c.LessonPool.*``, read once the whole configuration is loaded)."""
    from jupyterhub.app import JupyterHub

    app = JupyterHub.instance()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # a command that only reads the configuration
        return

    async def keep():
        while getattr(app, "tornado_application", None) is None:
            await asyncio.sleep(0.01)
        pool = LessonPool(app, parent=app, log=app.log)
        app.tornado_application.settings["lms_lesson_pool"] = pool
        await pool.run()

    task = loop.create_task(keep())
    app._lms_tasks = getattr(app, "_lms_tasks", ()) + (task,)
