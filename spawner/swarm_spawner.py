"""``LessonSwarmSpawner``: the lesson spawner on Docker Swarm, one service per lesson server.

The lesson logic is ``LessonMixin``'s, exactly as for ``LessonSpawner``; this module turns it into
a Swarm service spec through SwarmSpawner's ``extra_*`` settings (whatever a deployment configures
there keeps the last word, except over the limits and the hardening):

- the home volume as a ``volume`` mount (created on the node that runs the task: give
  ``volume_driver`` a multi-host driver so a learner's home follows them across nodes), the
  course's learner repo as a read-only ``bind`` mount (``content_cache_dir`` must exist on every
  node),
  and a tmpfs of the lesson's shared-memory size at ``/dev/shm``;
- the lesson's memory, CPU and process limits as the service's resource limits, and its GPUs as
  a reservation of Swarm generic resources (``SwarmGpus``);
- hardening as far as services allow: every capability dropped, ``no-new-privileges`` on engines
  whose API has it for services (1.44 and later), no privileged mode (services have none), never
  the Docker socket; the ``extra_*`` settings may lower the limits and add to the hardening, never
  raise, remove or weaken them (``hardening``);
- restart policy ``none``: a lesson server that exits (e.g. idle GPU servers stopping themselves)
  stays stopped, so the hub sees it and frees its GPUs, rather than Swarm restarting it;
- labels ``lms.server``, ``lms.lesson`` and ``lms.environment`` on the service.

With ``host_networking`` the task joins the node's ``host`` network and listens on a free port;
the hub reaches it at ``host_networking_ip``, or, when that is ``0.0.0.0`` (several machines), at
the address of the node that runs it. Without it, SwarmSpawner's overlay networking applies
(``network_name``).

Chosen in the hub config with ``c.JupyterHub.spawner_class = "lesson-swarm"``
(``LMS_SPAWNER=swarm`` in ``hub_config/jupyterhub_config.py``); its settings are
``c.LessonSwarmSpawner.*``. The hub's Docker engine must be a Swarm manager.
"""

from __future__ import annotations

import asyncio
import os
import time

from docker.types import Mount, Resources, RestartPolicy
from docker.utils import version_gte
from dockerspawner import SwarmSpawner
from tornado import web
from traitlets import Float

from .hardening import harden_container_spec, harden_service_limits
from .lesson_mixin import LessonMixin
from .limits import LessonLimits, Limits
from .swarm_gpus import SERVER_LABEL, SwarmGpus

# task states after which a task never runs
ENDED = frozenset({"complete", "failed", "rejected", "shutdown", "orphaned", "remove"})


class LessonSwarmSpawner(LessonMixin, SwarmGpus, LessonLimits, SwarmSpawner):
    """Start each lesson as a Docker Swarm service of its environment's image."""

    task_poll_interval = Float(
        0.1,
        help="""Seconds between checks of a starting service's task (SwarmSpawner's own checks
        back off from one second).""",
    ).tag(config=True)

    unschedulable_timeout = Float(
        20.0,
        help="""Seconds a lesson service may wait for a node with room for it (free GPUs,
        memory) before the start is refused with the scheduler's reason.""",
    ).tag(config=True)

    # -- the service spec ------------------------------------------------------------------

    @property
    def mounts(self):
        mounts = []
        for source, bind in self.volume_binds.items():
            read_only = bind["mode"] == "ro"
            if os.path.isabs(source):  # a folder of the node: the course's learner repo
                mounts.append(Mount(bind["bind"], source, type="bind", read_only=read_only))
            else:  # a named volume: the learner's home
                mounts.append(Mount(bind["bind"], source, type="volume", read_only=read_only,
                                    driver_config=self.mount_driver_config))
        shm = self.limits.shm if self.limits else None
        if shm:
            mounts.append(Mount("/dev/shm", None, type="tmpfs", tmpfs_size=shm))
        return mounts

    def service_resources(self, configured: dict | None = None) -> dict:
        """The task's resources: limits, guarantees and GPUs, then ``extra_resources_spec`` and
        the ``resources`` of ``configured`` (``extra_task_spec``), which may lower the limits
        and add reservations, never raise or remove a limit."""
        extra = Resources(**self.extra_resources_spec)
        more = dict((configured or {}).get("resources") or {})
        resources = Resources(
            mem_reservation=self.mem_guarantee,
            cpu_reservation=int(self.cpu_guarantee * 1e9) if self.cpu_guarantee else None,
            generic_resources=self.gpu_resources() or None,
        )
        limits = (self.limits or Limits()).service_limits()
        for setting, spec in (("extra_resources_spec", extra), ("extra_task_spec", more)):
            limits, notes = harden_service_limits(limits, spec.get("Limits"))
            self.log_hardening_notes(setting, notes)
        resources["Limits"] = limits
        resources["Reservations"] = {**resources.get("Reservations", {}),
                                     **extra.get("Reservations", {}),
                                     **more.get("Reservations", {})}
        return {key: value for key, value in resources.items() if value}

    def service_labels(self) -> dict:
        labels = {SERVER_LABEL: self.gpu_owner}
        if self.lesson_ref is not None:
            labels.update({"lms.lesson": self.lesson_ref.key,
                           "lms.environment": self.lesson_ref.environment_name})
        return labels

    async def create_object(self):
        """Create the service with the lesson's settings merged under the configured
        ``extra_container_spec``, ``extra_task_spec`` and ``extra_create_kwargs``, which keep
        the last word, except over the hardening and the limits (``hardening``)."""
        configured = (self.extra_container_spec, self.extra_task_spec, self.extra_create_kwargs)
        create_kwargs = self._eval_if_callable(self.extra_create_kwargs)
        if hasattr(create_kwargs, "__await__"):
            create_kwargs = await create_kwargs
        container_spec, notes = harden_container_spec(
            configured[0], self.drop_capabilities,
            no_new_privileges=version_gte(self.client.api_version, "1.44"))
        self.log_hardening_notes("extra_container_spec", notes)
        task_spec = {key: value for key, value in configured[1].items() if key != "resources"}
        self.extra_container_spec = container_spec
        self.extra_task_spec = {"resources": self.service_resources(configured[1]),
                                "restart_policy": RestartPolicy(condition="none"), **task_spec}
        self.extra_create_kwargs = {"labels": self.service_labels(), **(create_kwargs or {})}
        try:
            return await super().create_object()
        finally:
            self.extra_container_spec, self.extra_task_spec, self.extra_create_kwargs = configured

    # -- starting --------------------------------------------------------------------------

    async def start_object(self):
        """Wait until the service's task runs; fail at once when it cannot, with its error, and
        when no node has room for it for ``unschedulable_timeout`` seconds."""
        waiting_since = None
        while True:
            task = await self.get_task()
            if not task:
                raise RuntimeError(f"service {self.service_name} has no task")
            status = task["Status"]
            state = status["State"].lower()
            if state == "running":
                return
            if state in ENDED:
                raise RuntimeError(
                    f"lesson server {self.service_name} could not start ({state}): "
                    f"{status.get('Err') or status.get('Message')}"
                )
            if state == "pending" and status.get("Err"):  # the scheduler found no node
                waiting_since = waiting_since or time.monotonic()
                self._progress_message = (f"Waiting for a node with room for "
                                          f"{self.lesson_ref.lesson.title}{self.gpu_summary()}: "
                                          f"{status['Err']}")
                if time.monotonic() - waiting_since > self.unschedulable_timeout:
                    raise web.HTTPError(
                        503, f"no node of the Swarm can run lesson {self.lesson_ref.key!r} "
                        f"now{self.gpu_summary()} ({status['Err']}); try again later",
                    )
            await asyncio.sleep(self.task_poll_interval)

    async def get_ip_and_port(self):
        if self.host_networking and self.ip in ("", "0.0.0.0"):
            task = await self.get_task()
            node = await self.docker("inspect_node", task["NodeID"])
            return node["Status"]["Addr"], self.port
        return await super().get_ip_and_port()

    async def exit_report(self) -> str:
        task = await self.get_task()
        error = (task or {}).get("Status", {}).get("Err", "")

        def log_tail() -> bytes:
            lines = self.client.service_logs(self.service_id, stdout=True, stderr=True, tail=30)
            return b"".join(lines)

        logs = await asyncio.wrap_future(self.executor.submit(log_tail))
        return (f"task error: {error}\n" if error else "") + logs.decode("utf-8", "replace")
