"""GPU lessons get specific GPUs from the hub's pool, as Docker device requests.

The inventory is configured (``gpu_ids``) or read from ``nvidia-smi`` on the hub's machine. A
lesson whose environment has ``gpu: N`` takes N devices when it is asked for (so a spawn that
would find none free is refused at once, with how many are free) and gives them back when its
server stops. The ids are kept in the spawner's state, so a restarted hub rebuilds its books
from the servers that are still running.
"""

from __future__ import annotations

from dataclasses import replace

from docker.types import DeviceRequest
from tornado import web
from traitlets import Int, List, Unicode, default
from traitlets.config import Configurable

from .gpu_pool import GpuPool, NoGpuFree, detect_gpus


class LessonGpus(Configurable):
    """The settings and hooks of ``LessonSpawner`` for GPUs: specific devices from the hub's
    pool. (On Docker Swarm the scheduler picks them instead: see ``swarm_gpus``.)"""

    gpu_ids = List(
        Unicode(),
        help="""GPU device ids (or MIG instance UUIDs) this hub hands to GPU lessons. Default:
        the GPUs ``nvidia-smi`` lists on the hub's machine (none without it).""",
    ).tag(config=True)

    @default("gpu_ids")
    def _default_gpu_ids(self):
        return detect_gpus()

    gpu_shares_per_device = Int(
        1,
        help="""How many lesson servers may share one device (1: a card belongs to one server;
        more only for GPUs set up for sharing, e.g. time-slicing).""",
    ).tag(config=True)

    gpu_driver = Unicode(
        "nvidia", help="Docker device driver of the GPU device requests."
    ).tag(config=True)

    gpu_device_ids: list[str] = []

    @property
    def gpu_pool(self) -> GpuPool:
        return GpuPool.shared(self.gpu_ids, self.gpu_shares_per_device)

    @property
    def gpu_owner(self) -> str:
        """The server's container name: the pool's key, also for containers found running."""
        return self.object_name

    async def _scan_running_containers(self) -> None:
        """Once per hub process: count the GPUs of this hub's running lesson containers.

        Servers the hub knows claim their GPUs from their saved state; this also counts a
        container whose record was lost (a reset hub database), so its cards are not handed
        out twice."""
        pool = self.gpu_pool
        if pool.scanned or not pool.devices:
            return
        async with pool.scan_lock:
            if pool.scanned:
                return
            found = await self.docker("containers", filters={"name": f"{self.prefix}-",
                                                             "status": "running"})
            for summary in found:
                info = await self.docker("inspect_container", summary["Id"])
                name = info["Name"].lstrip("/")
                ids = [i for request in info["HostConfig"].get("DeviceRequests") or []
                       if _is_gpu_request(request, self.gpu_driver)
                       for i in request.get("DeviceIDs") or []]
                if ids and name.startswith(f"{self.prefix}-") and name not in pool.holders:
                    pool.claim(name, ids)
                    self.log.info("GPU(s) %s held by running container %s", ",".join(ids), name)
            pool.scanned = True

    async def gpu_counts(self) -> tuple[int, int]:
        """(free, total) GPU devices of the pool."""
        await self._scan_running_containers()
        return self.gpu_pool.free_devices(), len(self.gpu_pool.devices)

    async def take_gpus(self, ref):
        """Hold the GPUs lesson ``ref`` needs (none for a CPU lesson) and return the lesson as
        it will run: in its environment's ``cpu_fallback`` when no GPU is free, if it has one;
        otherwise HTTP 503 saying how many are free. (Nothing awaits between counting and
        taking, so concurrent spawns cannot take the same device.)"""
        self.gpu_pool.release(self.gpu_owner)
        self.gpu_device_ids = []
        count = ref.environment.gpu
        if not count:
            return ref
        await self._scan_running_containers()
        self.gpu_pool.release(self.gpu_owner)  # its own container, found running, is replaced
        try:
            self.gpu_device_ids = self.gpu_pool.allocate(self.gpu_owner, count)
        except NoGpuFree as exc:
            return fall_back_to_cpu(ref, str(exc), self.log)
        self.log.info("GPU(s) %s for %s (%s)", ",".join(self.gpu_device_ids), self.gpu_owner,
                      ref.key)
        return ref

    def release_gpus(self) -> None:
        if self.gpu_device_ids or self.gpu_owner in self.gpu_pool.holders:
            freed = self.gpu_pool.release(self.gpu_owner)
            if freed:
                self.log.info("GPU(s) %s free again (%s)", ",".join(freed), self.gpu_owner)
        self.gpu_device_ids = []

    def gpu_host_config(self) -> dict:
        if not self.gpu_device_ids:
            return {}
        return {"device_requests": [DeviceRequest(driver=self.gpu_driver,
                                                  device_ids=list(self.gpu_device_ids),
                                                  capabilities=[["gpu"]])]}

    async def gpu_status(self) -> str:
        """How many GPUs are free, for the spawn form ("" without any)."""
        free, total = await self.gpu_counts()
        return f"{free} of {total} GPUs free" if total else ""

    def gpu_summary(self) -> str:
        """The GPUs of the server being started, for its progress message."""
        return f" with GPU {','.join(self.gpu_device_ids)}" if self.gpu_device_ids else ""

    def load_state(self, state):
        super().load_state(state)
        ids = state.get("gpu_ids") or []
        if ids:  # a server from before a hub restart: its GPUs are still taken
            self.gpu_device_ids = list(ids)
            self.gpu_pool.claim(self.gpu_owner, self.gpu_device_ids)

    def get_state(self):
        state = super().get_state()
        if self.gpu_device_ids and self.object_id:
            state["gpu_ids"] = list(self.gpu_device_ids)
        return state


def _is_gpu_request(request: dict, driver: str) -> bool:
    """A Docker device request for GPUs: of the GPU driver, or asking the 'gpu' capability
    (``docker run --gpus`` names no driver)."""
    capabilities = {c for group in request.get("Capabilities") or [] for c in group}
    return request.get("Driver") == driver or "gpu" in capabilities


def fall_back_to_cpu(ref, reason: str, log):
    """Lesson ``ref`` in its environment's ``cpu_fallback``, as no GPU is free (``reason``);
    HTTP 503 saying so when it has none."""
    fallback = ref.environment.cpu_fallback
    if fallback is None:
        raise web.HTTPError(
            503, f"lesson {ref.key!r} needs a GPU and none is free ({reason}); try again "
            "later, or pick a lesson that runs on CPU",
        )
    log.info("No GPU free for %s (%s): running it in %r", ref.key, reason, fallback)
    return replace(ref, environment_name=fallback, environment=ref.course.environments[fallback])
