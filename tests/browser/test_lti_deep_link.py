"""An instructor adds a lesson to their course from inside the school's LMS (the LTI 1.3 test
platform): in real Chromium, the platform's content selection frame shows the hub's lesson
chooser, and the choice goes back to the platform as a signed deep-linking response."""

from __future__ import annotations

import pytest

from ..conftest import _cleanup_docker
from ..lti.platform import LtiPlatform


@pytest.fixture(scope="module")
def lti_platform():
    platform = LtiPlatform().start()
    yield platform
    platform.stop()


@pytest.fixture(scope="module")
def hub(docker_engine, content_remote, run_id, lti_platform, tmp_path_factory):
    from ..lti.conftest import lti_hub_for

    suffix = f"{run_id}-ltid"
    hub = lti_hub_for(lti_platform, tmp_path_factory.mktemp("lti-deep-link-hub"),
                      content_remote, suffix)
    hub.start()
    yield hub
    hub.stop()
    _cleanup_docker(suffix)


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
