"""The school's LMS and the platform in real Chromium, through the LTI 1.3 test platform, on one
hub that trusts it:

- a learner clicks the lesson's activity, lands in JupyterLab on the lesson's notebook, runs every
  cell, and the platform's scores endpoint receives exactly one score for the lesson;
- a learner clicks the course's activity and lands on the lesson's notebook, logged in by the
  launch;
- an instructor adds lessons to their course from inside the LMS: the platform's content selection
  frame shows the hub's lesson chooser, and the choice goes back as a signed deep-linking
  response.
"""

from __future__ import annotations

import re
import time

import pytest

from ..conftest import _cleanup_docker
from ..lti.platform import SCORE_TYPE, LtiPlatform
from .test_course_in_lab import wait_for_kernel_idle

PASSBACK_USER = "lti-passback-learner"
LAUNCH_USER = "lti-browser-learner"
LESSON = "dl-basics/python-basics"


@pytest.fixture(scope="module")
def lti_platform():
    platform = LtiPlatform().start()
    yield platform
    platform.stop()


@pytest.fixture(scope="module")
def hub(docker_engine, content_remote, run_id, lti_platform, tmp_path_factory):
    from ..lti.conftest import lti_hub_for

    suffix = f"{run_id}-ltib"
    hub = lti_hub_for(lti_platform, tmp_path_factory.mktemp("lti-browser-hub"),
                      content_remote, suffix, {"LMS_LTI_PASSBACK_INTERVAL": "0.5"})
    hub.start()
    yield hub
    hub.stop()
    _cleanup_docker(suffix)


def test_a_lesson_completed_after_an_lms_launch_reaches_the_gradebook_once(
        hub, lti_platform, browser_context):
    page = browser_context.new_page()
    page.goto(lti_platform.launch_url(user=PASSBACK_USER, resource_link_id="rl-python-basics",
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
    assert score.body["userId"] == PASSBACK_USER
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


def test_the_lms_activity_opens_the_lesson_notebook_in_jupyterlab(hub, lti_platform,
                                                                  browser_context):
    page = browser_context.new_page()
    url = lti_platform.launch_url(user=LAUNCH_USER, custom={"lesson": "dl-basics/python-basics"},
                                  context={"id": "ctx-b1", "label": "DL1", "title": "DL one"})
    page.goto(url)
    page.wait_for_url(re.compile(r"/lab/tree/dl-basics/01-python/python-basics\.ipynb"),
                      timeout=180_000)
    assert f"/user/{LAUNCH_USER}/" in page.url
    page.locator(".jp-Notebook").first.wait_for(timeout=90_000)
    page.locator(".lm-TabBar-tab.lm-mod-current", has_text="python-basics.ipynb").wait_for()
    # the launch made the learner a member of the course's cohort
    groups = hub.api("GET", f"/users/{LAUNCH_USER}").json()["groups"]
    assert len(groups) == 1 and groups[0].startswith("lti-dl1-")


def test_an_instructor_picks_lessons_in_the_lms_frame(hub, lti_platform, browser_context):
    page = browser_context.new_page()
    launch = lti_platform.launch_url(user="dl-browser-teacher", roles=["Instructor"],
                                     context={"id": "ctx-bd", "label": "DLB", "title": "DL B"},
                                     deep_linking={})
    page.goto(lti_platform.framed(launch))
    frame = page.frame_locator("#tool-frame")
    # the hub's chooser, inside the platform's page
    frame.locator("#lms-deep-link h1").wait_for(timeout=60_000)
    assert frame.locator("h1").inner_text() == "Choose lessons for your course"
    courses = frame.locator(".lms-deep-link-course legend")
    assert any(text.startswith("Deep learning basics") for text in courses.all_inner_texts())
    frame.get_by_label("NumPy basics").check()
    frame.get_by_label("The training loop").check()
    frame.locator("#lms-deep-link-submit").click()
    # the auto-submitted response lands on the platform, still in the frame
    frame.locator("#platform-content-added").wait_for(timeout=30_000)
    assert frame.locator("#platform-content-added").inner_text() == "2 item(s) added"
    (got,) = lti_platform.deep_link_returns
    assert [item["custom"]["lesson"] for item in got.content_items] == [
        "dl-basics/numpy-basics", "dl-basics/training-loop"]
    assert [item["url"] for item in got.content_items] == [
        f"{hub.url}/hub/lms/open/dl-basics/numpy-basics",
        f"{hub.url}/hub/lms/open/dl-basics/training-loop"]
