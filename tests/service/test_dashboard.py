"""The dashboard through the hub's real login: what instructors, admins and learners see."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ..spawn.accounts import admin_login, login
from .conftest import event


@pytest.fixture(scope="module")
def classroom(lms):
    lms.group("cohort-a", "pia", "quin")
    lms.group("cohort-b", "ravi")
    # python-basics (due after 7 days) is past due, numpy-basics (14 days) is not
    start = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    for cohort in ("cohort-a", "cohort-b"):
        lms.call("PUT", f"/cohorts/{cohort}", "admin", json={"course": "dl-basics", "start": start})
    lms.events("pia", event("lesson_opened", "python-basics", active_seconds=120),
               event("lesson_completed", "python-basics"))
    lms.call("PUT", "/surveys/dl-basics/python-basics", "pia",
             json={"answers": {"difficulty": 4, "pace": "about right",
                               "comments": "<script>alert(1)</script> loved it"}})
    lms.call("POST", "/deadlines/run", "admin")
    teacher = login(lms.hub.url, "tess")
    lms.hub.api("POST", "/groups/cohort-a-instructors/users", json={"users": ["tess"]})
    return lms, teacher


def page(session: requests.Session, lms, path: str) -> requests.Response:
    return session.get(f"{lms.hub.service_url('lms')}/{path}", timeout=30)


def test_an_instructor_sees_their_cohort(classroom):
    lms, teacher = classroom
    r = page(teacher, lms, "courses/dl-basics")
    assert r.status_code == 200, r.text[-500:]
    assert "Deep learning basics" in r.text and "tess (instructor)" in r.text
    matrix = r.text[r.text.index('id="matrix"'):]
    assert ">pia<" in matrix and ">quin<" in matrix and ">ravi<" not in matrix
    assert 'class="s s-c" title="Python basics: completed"' in matrix
    assert 'title="Python basics: delayed"' in matrix  # quin never opened it; it is past due
    delayed = r.text[r.text.index('id="delayed"'):r.text.index('id="funnel"')]
    assert "quin" in delayed and "pia" not in delayed
    assert "2.0 min" in r.text  # pia's active time in the funnel's median
    assert 'src="/services/lms/identicon/pia.svg"' in r.text
    icon = page(teacher, lms, "identicon/pia.svg")
    assert icon.headers["Content-Type"].startswith("image/svg+xml") and "<rect" in icon.text


def test_a_bad_page_number_is_refused(classroom):
    lms, teacher = classroom
    r = page(teacher, lms, "courses/dl-basics?page=first")
    assert r.status_code == 400 and "page: must be a whole number" in r.text
    assert page(teacher, lms, "courses/dl-basics?page=99").status_code == 200  # the last page


def test_csv_export(classroom):
    lms, teacher = classroom
    r = page(teacher, lms, "courses/dl-basics/progress.csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = {row[0]: row for row in csv.reader(io.StringIO(r.text))}
    assert rows["learner"][2] == "python-basics"
    assert rows["pia"][1:3] == ["cohort-a", "completed"]
    assert rows["quin"][2] == "delayed" and "ravi" not in rows


def test_survey_results_page_escapes_free_text(classroom):
    lms, teacher = classroom
    r = page(teacher, lms, "courses/dl-basics/surveys/python-basics")
    assert r.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt; loved it" in r.text
    assert "<script>alert(1)" not in r.text
    assert re.search(r'id="q-difficulty".*?<svg', r.text, re.DOTALL)


def test_admins_see_every_cohort_and_learners_do_not_get_the_dashboard(classroom):
    lms, _ = classroom
    admin = admin_login(lms.hub, "adam")
    r = page(admin, lms, "courses/dl-basics")
    assert r.status_code == 200 and "adam (admin)" in r.text
    assert ">ravi<" in r.text and ">pia<" in r.text
    learner = login(lms.hub.url, "lulu")
    home = page(learner, lms, "")
    # a learner's front page is their own page (tests/service/test_learner_page.py)
    assert home.status_code == 200 and 'id="learner-name"' in home.text
    for path in ("courses/dl-basics", "courses/dl-basics/progress.csv",
                 "courses/dl-basics/surveys/python-basics"):
        assert page(learner, lms, path).status_code == 403, path


def test_the_hub_links_to_the_dashboard(classroom):
    lms, teacher = classroom
    home = teacher.get(f"{lms.hub.url}/hub/home", timeout=30)
    assert 'href="/services/lms/"' in home.text
