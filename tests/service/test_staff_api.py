"""The staff API and screens: cohorts made and filled through the hub, deadline extensions for
a learner or a whole cohort that lift a delay, the content versions, the newly delayed; who may
do each (learner, instructor of another cohort, the cohort's instructor, admin, nobody), bad
input, and forms that a cross-site post cannot use."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ..spawn.accounts import _xsrf, login, printed_passwords
from .conftest import event

START = (datetime.now(UTC) - timedelta(days=10)).isoformat()  # python-basics (7d) is past due


@pytest.fixture(scope="module")
def staff(lms):
    """Cohorts st-a (learners lena, leo; instructor ines) and st-b (learner kim; instructor
    otto), made through the staff API. lena and leo never opened python-basics."""
    for user in ("lena", "leo", "kim", "ines", "otto", "lou"):
        lms.token(user)
    for group, learners, teacher in (("st-a", ["lena", "leo"], "ines"),
                                     ("st-b", ["kim"], "otto")):
        r = lms.call("POST", "/cohorts", "admin",
                     json={"group": group, "course": "dl-basics", "start": START})
        assert r.status_code == 201, r.text
        r = lms.call("POST", f"/cohorts/{group}/members", "admin", json={"users": learners})
        assert r.status_code == 200, r.text
        r = lms.call("POST", f"/cohorts/{group}/instructors", "admin", json={"users": [teacher]})
        assert r.status_code == 200, r.text
    assert lms.call("POST", "/deadlines/run", "admin").status_code == 200
    return lms


def delayed_learners(lms, who="admin") -> set[str]:
    r = lms.call("GET", "/courses/dl-basics/progress", who)
    assert r.status_code == 200, r.text
    return set(r.json()["delayed"])


def test_a_cohort_is_made_in_the_hub(staff):
    cohort = staff.call("GET", "/cohorts/st-a", "admin").json()
    assert cohort["course"] == "dl-basics"
    assert cohort["members"] == ["lena", "leo"] and cohort["instructors"] == ["ines"]
    group = staff.hub.api("GET", "/groups/st-a-instructors").json()
    assert group["users"] == ["ines"]
    # the instructor teaches the new cohort at once (the hub's roles follow the group)
    matrix = staff.call("GET", "/courses/dl-basics/progress", "ines").json()["learners"]
    assert {"lena", "leo"} <= set(matrix) and "kim" not in matrix


# (method, path, body, {who: status}): lena, leo learners of st-a; otto instructor of st-b;
# ines instructor of st-a; None no token
MATRIX = [
    ("POST", "/cohorts/st-a/members", {"users": ["lou"]},
     {"lena": 403, "otto": 403, "ines": 403, None: 401}),
    ("DELETE", "/cohorts/st-a/members/leo", None,
     {"lena": 403, "otto": 403, "ines": 403, None: 401}),
    ("POST", "/cohorts/st-a/instructors", {"users": ["lou"]},
     {"lena": 403, "otto": 403, "ines": 403, None: 401}),
    ("DELETE", "/cohorts/st-a/instructors/ines", None,
     {"lena": 403, "otto": 403, "ines": 403, None: 401}),
    ("POST", "/cohorts", {"group": "st-z", "course": "dl-basics", "start": START},
     {"lena": 403, "otto": 403, "ines": 403, None: 401}),
    ("GET", "/cohorts/st-a/extensions", None,
     {"lena": 403, "otto": 403, "ines": 200, "admin": 200, None: 401}),
    ("PUT", "/cohorts/st-a/extensions", {"days": 0, "lesson": "numpy-basics"},
     {"lena": 403, "otto": 403, "ines": 200, "admin": 200, None: 401}),
    ("DELETE", "/cohorts/st-a/extensions?lesson=numpy-basics", None,
     {"lena": 403, "otto": 403, None: 401, "ines": 204, "admin": 404}),
    ("PUT", "/cohorts/st-a/extensions/leo", {"days": 0, "lesson": "numpy-basics"},
     {"leo": 403, "otto": 403, "ines": 200, "admin": 200, None: 401}),
    ("DELETE", "/cohorts/st-a/extensions/leo?lesson=numpy-basics", None,
     {"leo": 403, "otto": 403, None: 401, "admin": 204, "ines": 404}),
    ("GET", "/content/versions", None, {"lena": 403, "otto": 403, "ines": 403, "admin": 200,
                                        None: 401}),
    ("GET", "/delayed", None, {"lena": 403, "otto": 200, "ines": 200, "admin": 200, None: 401}),
]


@pytest.mark.parametrize("method, path, body, expected", MATRIX,
                         ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_who_may_use_each_staff_route(staff, method, path, body, expected):
    for who, status in expected.items():  # in order: refusals first, then the allowed
        r = staff.call(method, path, who, json=body)
        assert r.status_code == status, (who, r.text)
        if status == 403:
            assert who in r.json()["message"] or "admins" in r.json()["message"], r.text
    if method == "POST" and path == "/cohorts/st-a/members":  # nothing was added
        assert "lou" not in staff.call("GET", "/cohorts/st-a", "admin").json()["members"]
    if method == "POST" and path == "/cohorts":
        assert staff.hub.api("GET", "/groups/st-z").status_code == 404


def test_instructors_see_only_their_cohorts_newly_delayed(staff):
    seen = {who: {e["user"] for e in staff.call("GET", "/delayed", who).json()["learners"]}
            for who in ("admin", "ines", "otto")}
    assert {"lena", "leo", "kim"} <= seen["admin"]
    assert {"lena", "leo"} <= seen["ines"] and "kim" not in seen["ines"]
    assert "kim" in seen["otto"] and not {"lena", "leo"} & seen["otto"]
    lena = next(e for e in staff.call("GET", "/delayed", "ines").json()["learners"]
                if e["user"] == "lena")
    assert {"course": "dl-basics", "lesson": "python-basics",
            "title": "Python basics"} in [{k: x[k] for k in ("course", "lesson", "title")}
                                          for x in lena["lessons"]]
    assert staff.call("GET", "/delayed?days=0", "admin").json()["field"] == "days"


def test_an_extension_lifts_the_delay_and_its_removal_brings_it_back(staff):
    assert {"lena", "leo"} <= delayed_learners(staff)
    r = staff.call("PUT", "/cohorts/st-a/extensions/lena", "ines",
                   json={"days": 5, "lesson": "python-basics"})
    assert r.status_code == 200, r.text
    assert "lena" not in delayed_learners(staff) and "leo" in delayed_learners(staff)
    due = staff.call("GET", "/progress/lena", "lena").json()["courses"]["dl-basics"][0]["due"]
    assert datetime.fromisoformat(due) > datetime.now(UTC)
    # the whole cohort: leo too
    assert staff.call("PUT", "/cohorts/st-a/extensions", "admin",
                      json={"days": 4}).status_code == 200
    assert not {"lena", "leo"} & delayed_learners(staff)
    listed = staff.call("GET", "/cohorts/st-a/extensions", "ines").json()["extensions"]
    assert {"user": None, "lesson": None, "days": 4.0} in listed
    assert {"user": "lena", "lesson": "python-basics", "days": 5.0} in listed
    assert staff.call("DELETE", "/cohorts/st-a/extensions", "ines").status_code == 204
    assert "leo" in delayed_learners(staff) and "lena" not in delayed_learners(staff)
    assert "leo" in {e["user"] for e in staff.call("GET", "/delayed", "ines").json()["learners"]}
    assert staff.call("DELETE", "/cohorts/st-a/extensions/lena?lesson=python-basics",
                      "admin").status_code == 204
    assert "lena" in delayed_learners(staff)


@pytest.mark.parametrize("method, path, body, field, named", [
    ("PUT", "/cohorts/st-a/extensions/kim", {"days": 3}, "user", "kim"),
    ("PUT", "/cohorts/st-a/extensions/nobody-here", {"days": 3}, "user", "nobody-here"),
    ("PUT", "/cohorts/st-a/extensions/lena", {"days": 3, "lesson": "no-such-lesson"}, "lesson",
     "no-such-lesson"),
    ("PUT", "/cohorts/st-a/extensions", {"days": 3, "lesson": "no-such-lesson"}, "lesson",
     "no-such-lesson"),
    ("PUT", "/cohorts/st-a/extensions/lena", {"days": -1}, "days", "greater than or equal"),
    ("POST", "/cohorts", {"group": "st-c", "course": "no-course", "start": START}, "course",
     "no-course"),
    ("POST", "/cohorts", {"group": "st c!", "course": "dl-basics", "start": START}, "group",
     "st c!"),
    ("POST", "/cohorts", {"group": "st-c-instructors", "course": "dl-basics", "start": START},
     "group", "instructor groups"),
    ("POST", "/cohorts", {"group": "st-c", "course": "dl-basics", "start": "2026-03-02T09:00"},
     "start", "time zone"),
    ("POST", "/cohorts", {"group": "st-a", "course": "dl-basics", "start": START}, "group",
     "a cohort already"),
    ("POST", "/cohorts/st-a/members", {"users": ["lou", "ghost-one", "ghost-two"]}, "users",
     "'ghost-one', 'ghost-two'"),
    ("POST", "/cohorts/st-a/instructors", {"users": []}, "users", "at least 1"),
    ("DELETE", "/cohorts/st-a/members/kim", None, "user", "kim"),
])
def test_bad_input_is_refused_naming_it(staff, method, path, body, field, named):
    before = staff.call("GET", "/cohorts/st-a", "admin").json()
    r = staff.call(method, path, "admin", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and named in r.json()["message"], r.text
    after = staff.call("GET", "/cohorts/st-a", "admin").json()
    assert after == before  # nothing half-written
    assert staff.hub.api("GET", "/groups/st-c").status_code == 404
    assert staff.hub.api("GET", "/groups/st-c-instructors").status_code == 404


def test_a_binding_change_and_an_unknown_cohort(staff):
    assert staff.call("GET", "/cohorts/nope/extensions", "admin").status_code == 404
    assert staff.call("POST", "/cohorts/nope/members", "admin",
                      json={"users": ["lena"]}).status_code == 404


# -- the screens ------------------------------------------------------------------------------

def page(session, lms, path, method="GET", **kwargs) -> requests.Response:
    """A page of the dashboard (a GET follows the hub's OAuth redirects; a POST does not)."""
    return session.request(method, f"{lms.hub.service_url('lms')}/{path}", timeout=60,
                           allow_redirects=method == "GET", **kwargs)


def xsrf(session, lms, path) -> str:
    r = page(session, lms, path)
    assert r.status_code == 200, r.text[-500:]
    return re.search(r'name="_xsrf" value="([^"]+)"', r.text).group(1)


def admin_session(hub, name: str) -> requests.Session:
    """Log in as a configured admin through the hub's login form, to the hub's home page."""
    password = printed_passwords(hub.log_path.read_text(errors="replace"), name)[-1]
    session = requests.Session()
    token = _xsrf(session, f"{hub.url}/hub/login")
    r = session.post(f"{hub.url}/hub/login?next=%2Fhub%2Fhome", timeout=30,
                     data={"_xsrf": token, "username": name, "password": password})
    assert r.status_code == 200 and r.url.endswith("/hub/home"), r.url
    return session


@pytest.fixture(scope="module")
def sessions(staff):
    admin = admin_session(staff.hub, "adam")
    return {"admin": admin, "lou": login(staff.hub.url, "lou-web"),
            "ines": login(staff.hub.url, "ines-web"), "otto": login(staff.hub.url, "otto-web")}


def test_screens_are_behind_their_apis_authorization(staff, sessions):
    staff.call("POST", "/cohorts/st-a/instructors", "admin", json={"users": ["ines-web"]})
    staff.call("POST", "/cohorts/st-b/instructors", "admin", json={"users": ["otto-web"]})
    for path in ("cohorts", "cohorts/st-a", "content", "cohorts/st-a/deadlines"):
        assert page(sessions["lou"], staff, path).status_code == 403, path
        assert page(sessions["admin"], staff, path).status_code == 200, path
    for path in ("cohorts", "cohorts/st-a", "content", "cohorts/st-a/deadlines"):
        assert page(sessions["otto"], staff, path).status_code == 403, path
    assert page(sessions["ines"], staff, "cohorts/st-a/deadlines").status_code == 200
    assert page(sessions["ines"], staff, "cohorts/st-a").status_code == 403


def test_a_cross_site_post_is_refused(staff, sessions):
    admin = sessions["admin"]
    form = {"group": "st-x", "course": "dl-basics", "start": "2026-03-02"}
    assert page(admin, staff, "cohorts", "POST", data=form).status_code == 403
    # a token from someone else's page does not do either
    other = xsrf(sessions["ines"], staff, "cohorts/st-a/deadlines")
    assert page(admin, staff, "cohorts", "POST", data={**form, "_xsrf": other}).status_code == 403
    assert staff.hub.api("GET", "/groups/st-x").status_code == 404
    r = page(admin, staff, "cohorts", "POST", data={**form, "_xsrf": xsrf(admin, staff, "cohorts")})
    assert r.status_code == 303 and r.headers["Location"].endswith("/cohorts/st-x?done=create")
    assert staff.hub.api("GET", "/groups/st-x").status_code == 200


def test_forms_show_the_field_message(staff, sessions):
    admin = sessions["admin"]
    r = page(admin, staff, "cohorts/st-a", "POST", data={
        "_xsrf": xsrf(admin, staff, "cohorts/st-a"), "action": "add-learners",
        "users": "lou ghost-three"})
    assert r.status_code == 400
    assert re.search(r'data-field="add-learners:users">no user named &#39;ghost-three&#39;',
                     r.text), r.text[-3000:]
    assert "lou" not in staff.call("GET", "/cohorts/st-a", "admin").json()["members"]
    ines = sessions["ines"]
    r = page(ines, staff, "cohorts/st-a/deadlines", "POST", data={
        "_xsrf": xsrf(ines, staff, "cohorts/st-a/deadlines"), "action": "extend",
        "user": "lena", "lesson": "", "days": "many"})
    assert r.status_code == 400 and 'data-field="extend:days"' in r.text
    assert "&#39;many&#39; is not a number of days" in r.text
    r = page(ines, staff, "cohorts/st-a/deadlines", "POST", data={
        "_xsrf": xsrf(ines, staff, "cohorts/st-a/deadlines"), "action": "extend",
        "user": "kim", "lesson": "", "days": "1"})
    assert r.status_code == 400 and "&#39;kim&#39; is not in cohort &#39;st-a&#39;" in r.text
    # an instructor of another cohort cannot post to this one
    otto = sessions["otto"]
    r = page(otto, staff, "cohorts/st-a/deadlines", "POST", data={
        "_xsrf": xsrf(otto, staff, "cohorts/st-b/deadlines"), "action": "extend",
        "user": "lena", "lesson": "", "days": "30"})
    assert r.status_code == 403
    assert "lena" in delayed_learners(staff)


def test_matrix_filters_are_kept_in_links_and_csv(staff, sessions):
    admin = sessions["admin"]
    r = page(admin, staff, "courses/dl-basics?cohort=st-a&delayed=1&q=LE")
    assert r.status_code == 200
    matrix = r.text[r.text.index('id="matrix"'):]
    assert ">lena<" in matrix and ">leo<" in matrix and ">kim<" not in matrix
    assert "progress.csv?cohort=st-a&amp;delayed=1&amp;q=LE&amp;" in r.text
    r = page(admin, staff, "courses/dl-basics?q=len&status=delayed")
    matrix = r.text[r.text.index('id="matrix"'):]
    assert ">lena<" in matrix and ">leo<" not in matrix
    rows = list(csv.reader(io.StringIO(page(
        admin, staff, "courses/dl-basics/progress.csv?cohort=st-b").text)))
    assert [row[0] for row in rows[1:]] == ["kim"]
    bad = page(admin, staff, "courses/dl-basics?status=late")
    assert bad.status_code == 400 and "status" in bad.text


def test_the_front_page_lists_newly_delayed_learners(staff, sessions):
    r = page(sessions["ines"], staff, "")
    assert r.status_code == 200
    listed = r.text[r.text.index('id="newly-delayed"'):]
    listed = listed[:listed.index("</ul>")]
    assert 'href="/services/lms/learners/lena"' in listed and "kim" not in listed
