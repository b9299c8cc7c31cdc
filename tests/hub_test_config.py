# Loaded after hub_config/jupyterhub_config.py by the test hub (LMS_EXTRA_CONFIG).
import os

c = get_config()

run_id = os.environ["LMS_TEST_RUN_ID"]
# an admin service whose token the tests use for the REST API and for user servers
# (extend, not replace, the lists that hub_config/jupyterhub_config.py sets)
c.JupyterHub.services.append({"name": "test-admin", "api_token": os.environ["LMS_TEST_ADMIN_TOKEN"]})
c.JupyterHub.load_roles.append(
    {
        "name": "test-admin",
        "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users",
                   "admin:groups", "tokens", "access:services", "read:services",
                   "custom:lms:admin"],
        "services": ["test-admin"],
    }
)
# containers and volumes of this run are named so that the run can clean up after itself
c.LessonSpawner.prefix = f"lms-test-{run_id}"
c.LessonSpawner.home_volume_name_template = f"lms-test-{run_id}-home-{{username}}"
# the test suite keeps stopped containers, so it also covers replacing a kept container
if os.environ.get("LMS_TEST_KEEP_CONTAINERS") == "1":
    c.LessonSpawner.remove = False
# a hub cap below what the torch environment asks (4G), to see the cap win
c.LessonSpawner.max_memory = "3G"
# GPU tests: a second Docker engine whose NVIDIA hook is a stand-in, and a GPU inventory
if os.environ.get("LMS_TEST_DOCKER_HOST"):
    c.LessonSpawner.client_kwargs = {"base_url": os.environ["LMS_TEST_DOCKER_HOST"]}
if os.environ.get("LMS_TEST_GPU_IDS"):
    c.LessonSpawner.gpu_ids = os.environ["LMS_TEST_GPU_IDS"].split(",")
