"""From the school's LMS to its gradebook, in real Chromium: a learner clicks the lesson's
activity in the LTI 1.3 test platform, lands in JupyterLab on the lesson's notebook, runs every
cell, and the platform's scores endpoint receives exactly one score for the lesson."""

from __future__ import annotations

import re
import time

import pytest

from ..conftest import _cleanup_docker
from ..lti.platform import SCORE_TYPE, LtiPlatform
from .test_course_in_lab import wait_for_kernel_idle

USER = "lti-passback-learner"
LESSON = "dl-basics/python-basics"


@pytest.fixture(scope="module")
def lti_platform():
    platform = LtiPlatform().start()
    yield platform
    platform.stop()


@pytest.fixture(scope="module")
def hub(docker_engine, content_remote, run_id, lti_platform, tmp_path_factory):
    from ..lti.conftest import lti_hub_for

    suffix = f"{run_id}-ltip"
    hub = lti_hub_for(lti_platform, tmp_path_factory.mktemp("lti-passback-hub"),
                      content_remote, suffix, {"LMS_LTI_PASSBACK_INTERVAL": "0.5"})
    hub.start()
    yield hub
    hub.stop()
    _cleanup_docker(suffix)


def test_a_lesson_completed_after_an_lms_launch_reaches_the_gradebook_once(
        hub, lti_platform, browser_context):
    page = browser_context.new_page()
    page.goto(lti_platform.launch_url(user=USER, resource_link_id="rl-python-basics",
                                      custom={"lesson": LESSON}))
    page.wait_for_url(re.compile(r"/lab/tree/dl-basics/01-python/python-basics\.ipynb"),
                      timeout=180_000)
    page.locator(".jp-Notebook").first.wait_for(timeout=90_000)
    page.locator("#lms-course-sidebar").wait_for(state="visible", timeout=60_000)
    assert lti_platform.scores == []  # launched, nothing done yet

    wait_for_kernel_idle(page)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.locator(".lm-Menu .lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
    page.wait_for_selector(f'li[data-lesson="{LESSON}"][data-status="completed"]',
                           timeout=90_000)

    [score] = lti_platform.wait_for_scores(1, timeout=60)
    assert score.lineitem == lti_platform.lineitem_url("rl-python-basics")
    assert score.content_type == SCORE_TYPE
    assert score.body["userId"] == USER
    assert (score.body["scoreGiven"], score.body["scoreMaximum"]) == (1, 1)
    assert score.body["activityProgress"] == "Completed"
    assert score.body["gradingProgress"] == "FullyGraded"
    # the learner goes on (the survey, cells run again): still one score
    page.locator(".jp-Dialog .lms-Survey").wait_for(timeout=30_000)  # the lesson's survey
    page.keyboard.press("Escape")
    page.locator(".jp-Dialog").wait_for(state="detached")
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.locator(".lm-Menu .lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
    wait_for_kernel_idle(page)
    time.sleep(5)  # ten rounds of the passback task, and the forwarder's next batches
    assert len(lti_platform.scores) == 1, [s.body for s in lti_platform.scores]
    assert len(lti_platform.score_attempts) == 1
