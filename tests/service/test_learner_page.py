"""A learner's page through the hub's real login: who may see it, and what it shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ..spawn.accounts import admin_login, login
from .conftest import code_cell_ids, event

NOTICE_DAYS = 2


def page(session: requests.Session, lms, path: str, **kwargs) -> requests.Response:
    return session.get(f"{lms.hub.service_url('lms')}/{path}", timeout=30, **kwargs)


@pytest.fixture(scope="module")
def cohort(lms):
    """lena and olaf learn in cohort-a, whose start puts python-basics (due after 7 days) in
    the past and numpy-basics (14 days) two days ahead; inga teaches cohort-a, ivan cohort-b."""
    lms.group("cohort-a", "lena", "olaf")
    lms.group("cohort-b", "cato")
    now = datetime.now(UTC)
    numpy_due = now + timedelta(days=NOTICE_DAYS, seconds=30)
    start = numpy_due - timedelta(days=14)
    lms.call("PUT", "/cohorts/cohort-a", "admin",
             json={"course": "dl-basics", "start": start.isoformat()})
    cell = code_cell_ids(lms, "numpy-basics")[0]
    lms.events("lena",
               event("lesson_opened", "python-basics",
                     at=(now - timedelta(days=3)).isoformat()),
               event("lesson_opened", "numpy-basics"),
               event("cell_executed", "numpy-basics", cell_id=cell, ok=True),
               event("cell_executed", "numpy-basics", cell_id=cell, ok=False))
    r = lms.call("PUT", "/surveys/dl-basics/python-basics", "lena",
                 json={"answers": {"difficulty": 2, "pace": "too fast",
                                   "comments": "<b>more</b> examples please"}})
    assert r.status_code == 200, r.text
    assert lms.call("POST", "/deadlines/run", "admin").status_code == 200
    people = {name: login(lms.hub.url, name) for name in ("lena", "olaf", "inga", "ivan")}
    lms.hub.api("POST", "/groups/cohort-a-instructors", json={})
    lms.hub.api("POST", "/groups/cohort-b-instructors", json={})
    for group, name in (("cohort-a-instructors", "inga"), ("cohort-b-instructors", "ivan")):
        r = lms.hub.api("POST", f"/groups/{group}/users", json={"users": [name]})
        assert r.status_code == 200, r.text
    people["admin"] = admin_login(lms.hub, "adam")
    expected_days = (numpy_due.date() - now.date()).days
    return lms, people, expected_days


@pytest.mark.parametrize("who, sees", [
    ("lena", True), ("olaf", False), ("ivan", False), ("inga", True), ("admin", True)])
def test_who_sees_a_learners_page(cohort, who, sees):
    lms, people, _ = cohort
    r = page(people[who], lms, "learners/lena")
    if sees:
        assert r.status_code == 200, r.text[-500:]
        assert 'data-lesson="dl-basics/python-basics" data-status="delayed"' in r.text
    else:
        assert r.status_code == 403, r.text[-500:]
        assert "Python basics" not in r.text and "lms-lesson" not in r.text  # nothing of hers
        # a name that does not exist gets the same answer
        missing = page(people[who], lms, "learners/nobody-here")
        assert missing.status_code == 403
        assert missing.text.replace("nobody-here", "lena") == r.text


def test_anonymous_visitors_are_sent_to_the_hub_login(cohort):
    lms, _, _ = cohort
    r = requests.get(f"{lms.hub.service_url('lms')}/learners/lena", timeout=30,
                     allow_redirects=False)
    assert r.status_code == 302 and "/hub/" in r.headers["Location"]


def test_the_learner_sees_lessons_status_due_dates_and_notices(cohort):
    lms, people, days = cohort
    text = page(people["lena"], lms, "").text  # a learner's front page is their own page
    assert 'id="learner-name"' in text and "My courses" in text
    rows = re.findall(r'<tr class="lms-lesson" data-lesson="dl-basics/([^"]+)" '
                      r'data-status="([^"]+)"', text)
    assert [slug for slug, _ in rows][:3] == ["python-basics", "numpy-basics",
                                             "pandas-exploration"]
    status = dict(rows)
    assert status["python-basics"] == "delayed" and status["numpy-basics"] == "in_progress"
    assert status["pandas-exploration"] == "not_started"
    label = {0: "Due today", 1: "Due tomorrow"}.get(days, f"Due in {days} days")
    notices = text[text.index('id="notices"'):text.index('id="course-dl-basics"')]
    assert re.search(r'data-lesson="dl-basics/python-basics">\s*<strong>Delayed</strong>', notices)
    assert re.search(rf'data-lesson="dl-basics/numpy-basics">\s*<strong>{label}</strong>',
                     notices)
    assert "pandas-exploration" not in notices  # due in nine days: outside the window
    numpy_row = text[text.index('data-lesson="dl-basics/numpy-basics" data-status'):]
    numpy_row = numpy_row[:numpy_row.index("</tr>")]
    assert f'lms-due-soon">{label}<' in numpy_row
    assert 'href="/hub/lms/open/dl-basics/numpy-basics"' in numpy_row
    assert "1 of 10 lessons completed" not in text and "0 of 10 lessons completed" in text


def test_survey_answers_and_the_activity_timeline(cohort):
    lms, people, _ = cohort
    text = page(people["inga"], lms, "learners/lena").text
    surveys = text[text.index('id="surveys"'):text.index('id="timeline"')]
    assert "How hard was this lesson?" in surveys and "2 / 5" in surveys
    assert "too fast" in surveys
    assert "&lt;b&gt;more&lt;/b&gt; examples please" in surveys and "<b>more" not in surveys
    timeline = text[text.index('id="timeline"'):]
    today = datetime.now(UTC).date().isoformat()
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    assert timeline.index(f'data-day="{today}"') < timeline.index(f'data-day="{three_days_ago}"')
    numpy = re.search(rf'data-day="{today}" data-lesson="dl-basics/numpy-basics">(.*?)</tr>',
                      timeline, re.S).group(1)
    assert "opened" in numpy and "2 cells run" in numpy
    python = re.search(rf'data-day="{three_days_ago}" data-lesson="dl-basics/python-basics">'
                       r"(.*?)</tr>", timeline, re.S).group(1)
    assert "opened" in python and "cells run" not in python
    # an instructor reads the page; the lesson links that start servers are the learner's own
    assert "/hub/lms/open/" not in text
    # the hub's record of visits to her servers, which has none
    assert 'id="visits">Nobody else has opened these servers.' in text


def test_the_page_in_korean(cohort):
    lms, people, days = cohort
    text = page(people["lena"], lms, "learners/lena",
                headers={"Accept-Language": "ko-KR,ko;q=0.9"}).text
    assert "내 코스" in text and "지연" in text
    label = {0: "오늘 마감", 1: "내일 마감"}.get(days, f"{days}일 후 마감")
    assert label in text


def test_staff_keep_their_front_page_with_a_link_to_their_own(cohort):
    lms, people, _ = cohort
    text = page(people["inga"], lms, "").text
    assert 'id="learner-name"' not in text
    assert 'id="lms-my-page" href="/services/lms/learners/inga"' in text
    own = page(people["inga"], lms, "learners/inga")
    assert own.status_code == 200 and 'id="no-courses"' in own.text
