"""``GET /hub/api/lms/gpus``: how many GPUs are free for lesson servers, for any logged-in user
(the same count the spawn form shows).

Registered by ``hub_config/jupyterhub_config.py`` through ``JupyterHub.extra_handlers``; the
count comes from the caller's own spawner (``LessonSpawner``'s pool, or the Swarm's nodes for
``LessonSwarmSpawner``), so it follows the hub's spawner settings.
"""

from __future__ import annotations

import json

from jupyterhub.apihandlers.base import APIHandler
from tornado import web


class GpuStatusHandler(APIHandler):
    async def get(self):
        user = self.current_user
        if user is None:
            raise web.HTTPError(403, "a hub token or login is needed")
        spawner = getattr(user, "spawner", None)  # services have none
        counts = getattr(spawner, "gpu_counts", None)
        if counts is None:
            raise web.HTTPError(404, "GPU counts are given to users of a lesson spawner")
        free, total = await counts()
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"free": free, "total": total}))


handlers = [(r"/api/lms/gpus", GpuStatusHandler)]
