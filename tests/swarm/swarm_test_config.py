# Loaded after hub_config/jupyterhub_config.py by the Swarm test hub (LMS_EXTRA_CONFIG, with
# LMS_SPAWNER=swarm): the test suite's settings (tests/hub_test_config.py), for LessonSwarmSpawner.
import os

c = get_config()

load_subconfig(os.path.join(os.path.dirname(os.path.dirname(__file__)), "hub_test_config.py"))
# services and volumes of this run are named so that the run can clean up after itself
for name in ("prefix", "home_volume_name_template", "max_memory"):
    setattr(c.LessonSwarmSpawner, name, c.LessonSpawner[name])
# a service no node can take is refused soon (the default waits longer for a busy cluster)
c.LessonSwarmSpawner.unschedulable_timeout = 4
# a deployment's placement rule: lessons never run on nodes labelled lms-test-no-lessons=true
c.LessonSwarmSpawner.extra_placement_spec = {
    "constraints": ["node.labels.lms-test-no-lessons != true"],
}
