# The comparison hub for spawn_latency.py: plain DockerSpawner on the lesson image, with host
# networking set up the way DockerSpawner's documentation describes (a port per server).
import os

from dockerspawner import DockerSpawner
from jupyterhub.utils import random_port

c = get_config()
load_subconfig(os.path.join(os.path.dirname(__file__), "..", "tests", "hub_test_config.py"))


class HostNetworkDockerSpawner(DockerSpawner):
    async def start(self):
        self.port = random_port()
        return await super().start()

    async def get_ip_and_port(self):
        return "127.0.0.1", self.port


c.JupyterHub.spawner_class = HostNetworkDockerSpawner
c.DockerSpawner.image = os.environ["LMS_BENCH_IMAGE"]
c.DockerSpawner.network_name = "host"
c.DockerSpawner.ip = "127.0.0.1"
c.DockerSpawner.remove = True
c.DockerSpawner.use_internal_ip = True  # host networking publishes no ports
c.DockerSpawner.notebook_dir = "/home/jovyan"
c.DockerSpawner.prefix = f"lms-test-{os.environ['LMS_TEST_RUN_ID']}"
c.DockerSpawner.volumes = {f"lms-test-{os.environ['LMS_TEST_RUN_ID']}-home-{{username}}": "/home/jovyan"}
