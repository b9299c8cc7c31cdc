"""``LessonSpawner``: a DockerSpawner that starts a lesson in that lesson's environment image.

The lesson logic (lesson → image, content, home volume, ``LMS_*`` env, host networking, readiness,
state) is ``LessonMixin``'s and shared with ``LessonSwarmSpawner``. What is specific to a plain
Docker engine lives here: GPUs as Docker device requests from the hub's pool (``LessonGpus``),
limits and hardening as the container's host config (a configured ``extra_host_config`` adds to
them and never takes them away), and the replacement of a kept container
that cannot serve a new start.

Chosen in the hub config with ``c.JupyterHub.spawner_class = "lesson"`` (``LMS_SPAWNER=docker``,
the default of ``hub_config/jupyterhub_config.py``); its settings are ``c.LessonSpawner.*``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from dockerspawner import DockerSpawner
from traitlets import Int, default

from .gpus import LessonGpus
from .hardening import harden_host_config
from .lesson_mixin import LessonMixin
from .limits import LessonLimits, Limits
from .lesson_pool import POOL_LABEL
from .pool_claim import PoolClaim


class LessonSpawner(LessonMixin, PoolClaim, LessonGpus, LessonLimits, DockerSpawner):
    """Start each lesson in its own environment's Docker image (a warm one from the hub's
    ``LessonPool`` when it has one: ``PoolClaim``)."""

    docker_threads = Int(
        8,
        help="""How many calls to the Docker engine the hub makes at the same time, for all
        lesson servers together (plain DockerSpawner makes one at a time). When a class starts
        at once, every start's calls (create, start, a warm server's claim) and every starting
        server's checks that its container still runs would otherwise queue behind one
        another. At least 1; the Docker client keeps 10 connections.""",
        min=1,
    ).tag(config=True)

    @property
    def executor(self):
        """The hub's one pool of threads for Docker calls, with ``docker_threads`` threads."""
        cls = type(self)
        if cls._executor is None:
            cls._executor = ThreadPoolExecutor(self.docker_threads,
                                               thread_name_prefix="lms-docker")
        return cls._executor

    @default("remove")
    def _default_remove(self):
        # the home volume keeps the learner's work, so a container is disposable
        return True

    async def create_object(self):
        """Create the container with the lesson's limits and hardening over the GPU settings and
        the configured ``extra_host_config``, which add to them and never take them away
        (``hardening.harden_host_config`` says how each setting merges)."""
        configured = self.extra_host_config
        limits = self.limits or Limits()

        async def merged(spawner):
            extra = self._eval_if_callable(configured)
            if hasattr(extra, "__await__"):
                extra = await extra
            config, notes = harden_host_config({**self.gpu_host_config(), **(extra or {})},
                                               limits, self.drop_capabilities)
            self.log_hardening_notes("extra_host_config", notes)
            return config

        self.extra_host_config = merged
        try:
            return await super().create_object()
        finally:
            self.extra_host_config = configured

    async def clear_stale_object(self):
        """Never reuse a kept container (``remove=False``) that cannot serve this start.

        It is replaced when it was made from another image, or with host networking, where
        each start listens on a new free port that the old container's settings do not name,
        or when it was a pooled server (its entry and home slot served one start only).
        """
        obj = await self.get_object()
        if not obj:
            return
        pooled = POOL_LABEL in (obj["Config"].get("Labels") or {})
        if obj["Config"]["Image"] == self.image and not self.host_networking and not pooled:
            return
        self.log.info(
            "Replacing %s (image %s) for lesson %s (image %s)",
            self.object_name,
            obj["Config"]["Image"],
            self.lesson_ref.key,
            self.image,
        )
        await self.stop_object()
        await self.remove_object()
        self.object_id = ""

    async def exit_report(self) -> str:
        logs = await self.docker("logs", self.container_id, tail=30)
        return logs.decode("utf-8", "replace")
