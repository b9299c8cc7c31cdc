# The comparison hub for spawn_latency.py: plain DockerSpawner on the lesson image, set up the way
# DockerSpawner's documentation describes: containers on a user-defined Docker network (here the
# same private lesson network the lesson hub uses), reached at their own addresses.
import os

c = get_config()
load_subconfig(os.path.join(os.path.dirname(__file__), "..", "tests", "hub_test_config.py"))

c.JupyterHub.spawner_class = "docker"
c.DockerSpawner.image = os.environ["LMS_BENCH_IMAGE"]
c.DockerSpawner.network_name = os.environ["LMS_NETWORK"]
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.remove = True
c.DockerSpawner.notebook_dir = "/home/jovyan"
c.DockerSpawner.prefix = f"lms-test-{os.environ['LMS_TEST_RUN_ID']}"
c.DockerSpawner.volumes = {f"lms-test-{os.environ['LMS_TEST_RUN_ID']}-home-{{username}}": "/home/jovyan"}
