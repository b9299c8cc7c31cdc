"""LTI Deep Linking 2.0 (content selection) from the school's LMS (the test platform,
tests/lti/platform.py) into a real hub with ``LMS_AUTHENTICATOR=lti13``: an instructor picks
lessons on the hub, the platform receives a signed ``LtiDeepLinkingResponse`` and the activity it
makes opens the lesson; learners, other users, tampered or replayed forms get nothing."""

from __future__ import annotations

import re
import time
from html import unescape
from pathlib import Path
from urllib.parse import urlparse

import jwt
import pytest
import requests
import yaml

from lms_spawner import lti_deep_link

from .platform import DL, LTI

HUB_ENV = {"LMS_ADMIN_USERS": "dl-school-admin"}
COURSE = yaml.safe_load((Path(__file__).parents[2] / "content_repo/dl-basics/course.yaml")
                        .read_text())
CONTEXT = {"id": "ctx-dl-1", "label": "DL301", "title": "Deep learning 301"}


def choose_page(hub, session, result):
    """The hub's lesson chooser that a content selection launch lands on."""
    r = result.response
    assert r.status_code == 302, (r.status_code, r.text[-800:])
    location = r.headers["Location"]
    assert location.startswith("/hub/lti13/deep-link?request="), location
    page = session.get(hub.url + location, timeout=30)
    assert page.status_code == 200, page.text[-800:]
    return page


def form_fields(html: str) -> dict:
    return {name: unescape(value) for name, value in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}


def lessons_listed(html: str) -> list[str]:
    return re.findall(r'data-lesson="([^"]+)"', html)


def post_choice(hub, session, fields: dict, lessons) -> requests.Response:
    return session.post(f"{hub.url}/hub/lti13/deep-link", timeout=30,
                        data={**fields, "lesson": list(lessons)}, allow_redirects=False)


def return_form(html: str) -> tuple[str, str]:
    action = unescape(re.search(r'<form method="post" action="([^"]+)"', html).group(1))
    return action, form_fields(html)["JWT"]


def tool_key(hub) -> dict:
    (key,) = requests.get(f"{hub.url}/hub/lti13/jwks", timeout=30).json()["keys"]
    return key


def test_an_instructor_chooses_a_lesson_and_the_activity_opens_it(lti_hub, lti_platform):
    teacher = requests.Session()
    result = lti_platform.launch(teacher, user="dl-teacher", roles=("Instructor",),
                                 context=CONTEXT, deep_linking={"accept_multiple": False})
    page = choose_page(lti_hub, teacher, result)
    # the live courses' lessons, each course in its own order
    listed = lessons_listed(page.text)
    ours = [key for key in listed if key.startswith("dl-basics/")]
    assert ours == [f"dl-basics/{lesson['slug']}" for lesson in COURSE["lessons"]]
    assert any(key.startswith("policy-check/") for key in listed)
    assert "NumPy basics" in page.text and 'type="radio"' in page.text
    korean = teacher.get(page.url, headers={"Accept-Language": "ko-KR,ko"}, timeout=30)
    assert "강좌에 넣을 레슨 고르기" in korean.text and "넘파이 기초" in korean.text
    fields = form_fields(page.text)
    # field-level refusals keep the selection open and send nothing
    for lessons, message in ((["dl-basics/numpy-basics", "dl-basics/python-basics"],
                              "lesson: your LMS takes one lesson here"),
                             (["dl-basics/no-such-lesson"], "is not a lesson of the live"),
                             ([], "lesson: choose a lesson")):
        r = post_choice(lti_hub, teacher, fields, lessons)
        assert r.status_code == 400 and message in unescape(r.text), r.text[-800:]
        assert 'name="JWT"' not in r.text
    r = post_choice(lti_hub, teacher, fields, ["dl-basics/numpy-basics"])
    assert r.status_code == 200, r.text[-800:]
    action, token = return_form(r.text)
    assert action.startswith(f"{lti_platform.issuer}/deep-link-return/")
    # the browser's auto-submitted form reaches the platform, which verifies it with the JWKS
    answer = requests.post(action, data={"JWT": token}, timeout=30)
    assert answer.status_code == 200, (answer.text, lti_platform.errors[-3:])
    (got,) = lti_platform.deep_link_returns
    assert jwt.get_unverified_header(token)["kid"] == tool_key(lti_hub)["kid"]
    claims = got.claims
    assert claims["iss"] == lti_platform.client_id and claims["aud"] == lti_platform.issuer
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "deployment_id"] == lti_platform.deployment_id
    assert claims[DL + "data"] == lti_platform.launches[got.hint].deep_linking["data"]
    assert got.content_items == [{
        "type": "ltiResourceLink", "title": "NumPy basics",
        "url": f"{lti_hub.url}/hub/lms/open/dl-basics/numpy-basics",
        "custom": {"lesson": "dl-basics/numpy-basics"},
        "lineItem": {"scoreMaximum": 1, "label": "NumPy basics",
                     "resourceId": "dl-basics/numpy-basics"},
    }]
    # the same form again (a replay) is refused and sends nothing
    again = post_choice(lti_hub, teacher, fields, ["dl-basics/numpy-basics"])
    assert again.status_code == 404 and 'name="JWT"' not in again.text
    # a learner clicks the activity the platform made of the item: the lesson opens
    item = got.content_items[0]
    learner = requests.Session()
    launch = lti_platform.launch(learner, user="dl-learner", context=CONTEXT,
                                 custom=item["custom"], target_link_uri=item["url"])
    assert launch.response.headers["Location"] == "/hub/lms/open/dl-basics/numpy-basics"
    r = learner.get(f"{lti_hub.url}/hub/lms/open/dl-basics/numpy-basics", timeout=120)
    deadline = time.monotonic() + 180
    while "/lab" not in urlparse(r.url).path and time.monotonic() < deadline:
        time.sleep(1)
        r = learner.get(r.url, timeout=60)
    assert urlparse(r.url).path.endswith("/lab/tree/dl-basics/02-numpy/numpy-basics.ipynb"), r.url
    servers = lti_hub.api("GET", "/users/dl-learner").json()["servers"]
    assert [s["user_options"]["lesson"] for s in servers.values()] == ["dl-basics/numpy-basics"]


def test_several_lessons_become_several_items_without_line_items_unless_accepted(lti_hub,
                                                                                 lti_platform):
    admin = requests.Session()
    result = lti_platform.launch(admin, user="dl-course-admin", roles=("Administrator",),
                                 context=CONTEXT, deep_linking={"accept_lineitem": None,
                                                                "data": None})
    page = choose_page(lti_hub, admin, result)
    assert 'type="checkbox"' in page.text
    chosen = ["dl-basics/training-loop", "dl-basics/python-basics"]
    r = post_choice(lti_hub, admin, form_fields(page.text), chosen)
    action, token = return_form(r.text)
    before = len(lti_platform.deep_link_returns)
    assert requests.post(action, data={"JWT": token}, timeout=30).status_code == 200
    got = lti_platform.deep_link_returns[before]
    assert [item["custom"]["lesson"] for item in got.content_items] == chosen
    assert [item["title"] for item in got.content_items] == ["The training loop",
                                                             "Python basics"]
    assert not any("lineItem" in item for item in got.content_items)
    assert DL + "data" not in got.claims


def test_a_learners_content_selection_is_refused_and_creates_nothing(lti_hub, lti_platform):
    session = requests.Session()
    for roles in (("Learner",), ("TeachingAssistant",)):
        user = f"dl-refused-{roles[0].lower()}"
        result = lti_platform.launch(session, user=user, roles=roles, context=CONTEXT,
                                     deep_linking={})
        assert result.response.status_code == 403, result.response.text[-800:]
        assert "only the course's instructors and administrators" in unescape(
            result.response.text)
        assert lti_hub.api("GET", f"/users/{user}").status_code == 404


def test_a_selection_that_takes_no_resource_links_is_refused(lti_hub, lti_platform):
    session = requests.Session()
    result = lti_platform.launch(session, user="dl-file-teacher", roles=("Instructor",),
                                 deep_linking={"accept_types": ["file", "html"]},
                                 context=CONTEXT)
    assert result.response.status_code == 400, result.response.text[-800:]
    assert "accept_types" in result.response.text and "ltiResourceLink" in result.response.text
    assert lti_hub.api("GET", "/users/dl-file-teacher").status_code == 404


def test_nobody_else_can_see_or_post_a_content_selection(lti_hub, lti_platform):
    owner, other = requests.Session(), requests.Session()
    page = choose_page(lti_hub, owner, lti_platform.launch(
        owner, user="dl-owner", roles=("Instructor",), context=CONTEXT, deep_linking={}))
    fields = form_fields(page.text)
    other_page = choose_page(lti_hub, other, lti_platform.launch(
        other, user="dl-other", roles=("Instructor",), context=CONTEXT, deep_linking={}))
    other_fields = form_fields(other_page.text)
    sent = len(lti_platform.deep_link_attempts)
    lesson = ["dl-basics/numpy-basics"]
    # another instructor, with their own login and XSRF token, and the owner's request id
    seen = other.get(f"{lti_hub.url}/hub/lti13/deep-link?request={fields['request']}", timeout=30)
    assert seen.status_code == 403 and "started by someone else" in seen.text
    stolen = post_choice(lti_hub, other, {**other_fields, "request": fields["request"]}, lesson)
    assert stolen.status_code == 403
    # a tampered or absent request id, a post without the XSRF token, a stranger without login
    tampered = post_choice(lti_hub, owner, {**fields, "request": fields["request"][:-2] + "xx"},
                           lesson)
    assert tampered.status_code == 404
    absent = post_choice(lti_hub, owner, {"_xsrf": fields["_xsrf"]}, lesson)
    assert absent.status_code == 400 and "request: missing" in absent.text
    no_xsrf = post_choice(lti_hub, owner, {"request": fields["request"]}, lesson)
    assert no_xsrf.status_code == 403
    stranger = post_choice(lti_hub, requests.Session(), fields, lesson)
    assert stranger.status_code in (302, 403)
    for r in (seen, stolen, tampered, absent, no_xsrf, stranger):
        assert 'name="JWT"' not in r.text
    assert len(lti_platform.deep_link_attempts) == sent
    # the owner's selection is still theirs to finish
    r = post_choice(lti_hub, owner, fields, lesson)
    assert r.status_code == 200 and 'name="JWT"' in r.text


def test_the_lti_settings_page_names_the_content_selection_url(lti_hub, lti_platform):
    admin = requests.Session()
    assert lti_platform.launch(admin, user="dl-school-admin").response.status_code == 302
    page = admin.get(f"{lti_hub.url}/hub/lms/lti", timeout=30)
    assert f"<code>{lti_hub.url}/hub/lti13/deep-link</code>" in page.text
    korean = admin.get(f"{lti_hub.url}/hub/lms/lti", timeout=30,
                       headers={"Accept-Language": "ko"})
    assert "콘텐츠 선택 URL" in korean.text


# -- the parts, without a hub --------------------------------------------------------------------

def deep_link_token(**settings) -> dict:
    return {"iss": "https://lms.example", "aud": "tool-1", "sub": "t-1",
            LTI + "deployment_id": "d-1",
            DL + "deep_linking_settings": {"deep_link_return_url": "https://lms.example/back",
                                           "accept_types": ["ltiResourceLink"], **settings}}


@pytest.mark.parametrize("settings,field", [
    ({"accept_types": ["link", "file"]}, "accept_types"),
    ({"accept_types": None}, "accept_types"),
    ({"deep_link_return_url": "javascript:alert(1)"}, "deep_link_return_url"),
    ({"deep_link_return_url": ""}, "deep_link_return_url"),
])
def test_bad_deep_linking_settings_are_named(settings, field):
    with pytest.raises(Exception) as refused:
        lti_deep_link.settings_of(deep_link_token(**settings))
    assert refused.value.status_code == 400 and field in refused.value.log_message


def test_a_request_without_accept_multiple_takes_one_lesson_and_expires():
    pending = lti_deep_link.pending_from(deep_link_token(), "t-1", timeout=60)
    assert pending.accept_multiple is False and pending.accept_lineitem is False
    assert pending.client_id == "tool-1" and pending.data is None
    assert 55 < pending.expires - time.time() <= 60
    store = lti_deep_link.DeepLinkRequests()
    store.add(pending)
    assert store.take(pending.id) is pending and store.take(pending.id) is None
