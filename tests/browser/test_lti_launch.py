"""A learner clicks the course's activity in the school's LMS (the LTI 1.3 test platform) and
lands, in real Chromium, in JupyterLab on the lesson's notebook, logged in by the launch."""

from __future__ import annotations

import re

import pytest

from ..conftest import _cleanup_docker
from ..lti.platform import LtiPlatform

USER = "lti-browser-learner"


@pytest.fixture(scope="module")
def lti_platform():
    platform = LtiPlatform().start()
    yield platform
    platform.stop()


@pytest.fixture(scope="module")
def hub(docker_engine, content_remote, run_id, lti_platform, tmp_path_factory):
    from ..lti.conftest import lti_hub_for

    suffix = f"{run_id}-ltib"
    hub = lti_hub_for(lti_platform, tmp_path_factory.mktemp("lti-browser-hub"), content_remote,
                      suffix)
    hub.start()
    yield hub
    hub.stop()
    _cleanup_docker(suffix)


def test_the_lms_activity_opens_the_lesson_notebook_in_jupyterlab(hub, lti_platform,
                                                                  browser_context):
    page = browser_context.new_page()
    url = lti_platform.launch_url(user=USER, custom={"lesson": "dl-basics/python-basics"},
                                  context={"id": "ctx-b1", "label": "DL1", "title": "DL one"})
    page.goto(url)
    page.wait_for_url(re.compile(r"/lab/tree/dl-basics/01-python/python-basics\.ipynb"),
                      timeout=180_000)
    assert f"/user/{USER}/" in page.url
    page.locator(".jp-Notebook").first.wait_for(timeout=90_000)
    page.locator(".lm-TabBar-tab.lm-mod-current", has_text="python-basics.ipynb").wait_for()
    # the launch made the learner a member of the course's cohort
    groups = hub.api("GET", f"/users/{USER}").json()["groups"]
    assert len(groups) == 1 and groups[0].startswith("lti-dl1-")
