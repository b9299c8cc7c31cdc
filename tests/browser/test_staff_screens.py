"""An admin runs a cohort from the dashboard in Chromium: creates it, binds it, adds a learner
and an instructor, extends the learner's deadline and sees them delayed no more; the content
screen shows a refused commit with its validator line; the progress matrix filters."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ..spawn.accounts import _xsrf, printed_passwords
from .conftest import ADMIN, with_session_cookies

LEARNER, TEACHER = "bea", "ivan"
COHORT = "bootcamp-1"


@pytest.fixture(scope="module")
def content_remote(content_remote, tmp_path_factory):
    """A remote of this module's own, which the test pushes a broken commit to."""
    remote = tmp_path_factory.mktemp("staff-remote") / "content.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(content_remote), str(remote)],
                   check=True)
    return remote


def push_broken_commit(remote) -> str:
    work = remote.parent / "work"
    subprocess.run(["git", "clone", "--quiet", str(remote), str(work)], check=True)
    manifest = work / "dl-basics" / "course.yaml"
    text = manifest.read_text()
    assert "    environment: python\n" in text
    manifest.write_text(text.replace("    environment: python\n", "    environment: quantum\n", 1))
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "commit", "--quiet", "-am", "A typo in an environment"], check=True)
    subprocess.run([*git, "push", "--quiet", "origin", "HEAD"], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def admin_session(hub) -> requests.Session:
    password = printed_passwords(hub.log_path.read_text(errors="replace"), ADMIN)[-1]
    session = requests.Session()
    token = _xsrf(session, f"{hub.url}/hub/login")
    r = session.post(f"{hub.url}/hub/login?next=%2Fhub%2Fhome", timeout=30,
                     data={"_xsrf": token, "username": ADMIN, "password": password})
    assert r.status_code == 200 and r.url.endswith("/hub/home"), r.url
    return session


@pytest.fixture
def admin_page(hub, browser_context):
    for user in (LEARNER, TEACHER):
        hub.create_user(user)
    with_session_cookies(browser_context, admin_session(hub), hub.url)
    return browser_context.new_page()


def test_an_admin_runs_a_cohort_from_the_browser(hub, admin_page):
    page, lms = admin_page, hub.service_url("lms")
    page.goto(f"{lms}/")
    page.click("#staff-links >> text=Manage cohorts")
    # a start in the past: the first lesson (due after 7 days) is past due
    start = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    page.fill("#group", COHORT)
    page.fill("#start", "next monday")
    page.click("#create-cohort button[type=submit]")
    assert "is not a date" in page.inner_text('[data-field="start"]')
    assert hub.api("GET", f"/groups/{COHORT}").status_code == 404  # nothing half-made
    page.fill("#start", start)
    page.click("#create-cohort button[type=submit]")
    page.wait_for_url(re.compile(rf"/cohorts/{COHORT}\?done=create$"))
    assert hub.api("GET", f"/groups/{COHORT}-instructors").status_code == 200

    # bind it again (a start given as a date-time with its zone)
    page.fill("#bind-start", f"{start}T09:00+09:00")
    page.click("#bind button[type=submit]")
    page.wait_for_url(re.compile(r"\?done=bind$"))
    assert page.input_value("#bind-start").startswith(f"{start}T00:00:00")  # 09:00+09 in UTC

    page.fill("#add-learners-users", f"{LEARNER}, ghost")
    page.click("#add-learners button[type=submit]")
    assert "no user named 'ghost'" in page.inner_text('[data-field="add-learners:users"]')
    page.fill("#add-learners-users", LEARNER)
    page.click("#add-learners button[type=submit]")
    page.wait_for_url(re.compile(r"\?done=add-learners$"))
    page.fill("#add-instructors-users", TEACHER)
    page.click("#add-instructors button[type=submit]")
    page.wait_for_url(re.compile(r"\?done=add-instructors$"))
    assert page.inner_text("#learners").strip().startswith(LEARNER)
    assert TEACHER in page.inner_text("#instructors")
    assert page.get_attribute(f"#learners a >> text={LEARNER}", "href") == \
        f"/services/lms/learners/{LEARNER}"

    # the learner never opened the first lesson: delayed, and news on the front page
    page.goto(f"{lms}/")
    assert page.get_attribute(f"#newly-delayed a >> text={LEARNER}", "href") == \
        f"/services/lms/learners/{LEARNER}"
    page.click(f"#deadline-links >> text={COHORT}")
    assert LEARNER in page.inner_text("#delayed-now")
    page.select_option("#extend-user", LEARNER)
    page.fill("#extend-days", "30")
    page.click("#extend button[type=submit]")
    page.wait_for_url(re.compile(r"/deadlines\?done=extend$"))
    assert LEARNER not in page.inner_text("#delayed-now")
    assert re.search(rf"{LEARNER}\s+Every lesson\s+30", page.inner_text("#extensions"))
    page.goto(f"{lms}/courses/dl-basics?cohort={COHORT}")
    assert LEARNER not in page.inner_text("#delayed")
    page.goto(f"{lms}/")
    assert LEARNER not in page.inner_text("#newly-delayed")


def test_the_content_screen_shows_a_refused_commit(hub, content_remote, admin_page):
    broken = push_broken_commit(content_remote)
    r = requests.post(f"{hub.service_url('lms')}/api/content/sync", timeout=120,
                      headers={"Authorization": f"token {hub.token}"})
    assert r.status_code == 200 and r.json()["refused"], r.text
    page = admin_page
    page.goto(f"{hub.service_url('lms')}/")
    page.click("#staff-links >> text=Content versions")
    section = page.locator(f'.refused-commit[data-commit="{broken[:12]}"]')
    assert section.count() == 1
    text = section.inner_text()
    assert f"{broken[:12]}:dl-basics/course.yaml:" in text
    assert "lessons.0.environment: 'quantum' is not one of the environments" in text
    assert "live" in page.inner_text("#versions")
    assert broken not in page.inner_text("#versions")


def test_the_progress_matrix_filters(hub, admin_page):
    page, lms = admin_page, hub.service_url("lms")
    for user in ("carl", "cleo"):
        hub.create_user(user)
    r = requests.post(f"{lms}/api/cohorts/{COHORT}/members", timeout=60,
                      headers={"Authorization": f"token {hub.token}"},
                      json={"users": ["carl", "cleo"]})
    assert r.status_code == 200, r.text
    page.goto(f"{lms}/courses/dl-basics")
    page.select_option("#filter-cohort", COHORT)
    page.fill("#filter-q", "c")
    page.click("#matrix-filters button[type=submit]")
    matrix = page.inner_text("#matrix")
    assert "carl" in matrix and "cleo" in matrix and LEARNER not in matrix
    page.check("#filter-delayed")
    page.click("#matrix-filters button[type=submit]")
    assert page.url.endswith(f"cohort={COHORT}&status=&delayed=1&q=c")
    matrix = page.inner_text("#matrix")
    assert "carl" in matrix and LEARNER not in matrix  # carl: delayed, bea: extended
    csv_link = page.get_attribute("text=Export CSV", "href")
    assert csv_link.endswith(f"progress.csv?cohort={COHORT}&delayed=1&q=c&")
    page.fill("#filter-q", "nobody-by-this-name")
    page.click("#matrix-filters button[type=submit]")
    assert "carl" not in page.inner_text("#matrix")
