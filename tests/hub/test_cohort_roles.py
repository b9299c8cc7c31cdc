"""Instructor roles follow the hub's ``<cohort>-instructors`` groups live: made at start (also
after a restart, though JupyterHub deletes unconfigured roles then), on the hub's timer, at once
on ``POST /hub/api/lms/cohort-roles``; membership counts at once; a role goes with its group."""

from __future__ import annotations

import time

import pytest

from lms_spawner.cohort_roles import CohortRoles

from ..hubctl import Hub

STATIC = "c0"  # from LMS_COHORTS


@pytest.fixture(scope="module")
def hub(docker_engine, content_remote, run_id, tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("roles-hub"), str(content_remote), f"{run_id}-roles",
              {"LMS_COHORTS": STATIC, "LMS_IDLE_TIMEOUT": "0"})
    hub.start()
    yield hub
    hub.stop()


def token_of(hub: Hub, user: str) -> str:
    hub.create_user(user)
    r = hub.api("POST", f"/users/{user}/tokens", json={"note": "cohort roles test"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def scopes_of(hub: Hub, token: str) -> set[str]:
    r = hub.api("GET", "/user", token=token)
    assert r.status_code == 200, r.text
    return set(r.json()["scopes"])


def make_group(hub: Hub, name: str, *users: str) -> None:
    r = hub.api("POST", f"/groups/{name}")
    assert r.status_code in (201, 409), r.text
    if users:
        r = hub.api("POST", f"/groups/{name}/users", json={"users": list(users)})
        assert r.status_code == 200, r.text


def roles_listed(hub: Hub) -> dict[str, str]:
    r = hub.api("GET", "/lms/cohort-roles")
    assert r.status_code == 200, r.text
    return {item["cohort"]: item["role"] for item in r.json()["roles"]}


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen in {timeout}s")


TA_SCOPES = {"custom:lms:instructor!group=c1", "access:services!service=lms",
             "access:servers!group=c1", "read:servers!group=c1", "list:users!group=c1"}
STAFF_ONLY = TA_SCOPES - {"access:services!service=lms"}  # every user may use the service


def test_role_names_are_valid_and_distinct_for_any_cohort_name():
    keeper = CohortRoles()
    assert keeper.role_name("c1") == "lms-staff-c1"
    odd = {keeper.role_name(name) for name in ("Cohort A", "cohort-a", "COHORT-A", "코호트")}
    assert len(odd) == 4
    from jupyterhub.roles import _validate_role_name
    for name in odd:
        assert _validate_role_name(name)


def test_cohorts_from_lms_cohorts_have_their_role_at_start(hub):
    assert roles_listed(hub)[STATIC] == "lms-staff-c0"
    group = hub.api("GET", f"/groups/{STATIC}-instructors").json()
    assert "lms-staff-c0" in group["roles"], group
    assert "lms-instructor-c0" not in group["roles"]  # one role per cohort


def test_joining_and_leaving_the_instructors_group_counts_at_once(hub):
    ta = token_of(hub, "tara")
    assert not scopes_of(hub, ta) & STAFF_ONLY
    make_group(hub, "c1-instructors", "tara")
    r = hub.api("POST", "/lms/cohort-roles")
    assert r.status_code == 200, r.text
    assert "c1" in r.json()["created"]
    assert TA_SCOPES <= scopes_of(hub, ta)
    # nothing that starts, stops or deletes servers, nor any other cohort
    scopes = scopes_of(hub, ta)
    assert not {s for s in scopes if s.startswith(("servers", "delete:servers", "admin:"))
                and not s.endswith("!user=tara")}  # their own servers, as every user
    assert not {s for s in scopes if "group=" in s and not s.endswith("group=c1")}

    r = hub.api("DELETE", "/groups/c1-instructors/users", json={"users": ["tara"]})
    assert r.status_code == 200, r.text
    assert not scopes_of(hub, ta) & STAFF_ONLY
    hub.api("POST", "/groups/c1-instructors/users", json={"users": ["tara"]})
    assert TA_SCOPES <= scopes_of(hub, ta)


def test_a_new_group_gets_its_role_on_the_timer_and_loses_it_with_the_group(hub):
    tom = token_of(hub, "tom")
    make_group(hub, "c2-instructors", "tom")  # no POST to cohort-roles
    wait_for(lambda: "custom:lms:instructor!group=c2" in scopes_of(hub, tom), 20,
             "the timer making c2's role")
    assert roles_listed(hub)["c2"] == "lms-staff-c2"
    r = hub.api("DELETE", "/groups/c2-instructors")
    assert r.status_code == 204, r.text
    wait_for(lambda: "c2" not in roles_listed(hub), 20, "the timer deleting c2's role")
    # a group of that name made later starts with nothing of the old one
    make_group(hub, "c2-instructors")
    r = hub.api("POST", "/lms/cohort-roles")
    assert {"cohort": "c2", "role": "lms-staff-c2", "group": "c2-instructors"} in r.json()["roles"]
    assert "custom:lms:instructor!group=c2" not in scopes_of(hub, tom)


def test_only_admins_and_group_managers_may_reconcile(hub):
    learner = token_of(hub, "lenny")
    for method in ("GET", "POST"):
        r = hub.api(method, "/lms/cohort-roles", token=learner)
        assert r.status_code == 403, r.text
    r = hub.api("POST", "/lms/cohort-roles", token="not-a-token")
    assert r.status_code == 403, r.text
    # the tests' admin service holds admin:groups (as the LMS service may)
    r = hub.api("POST", "/lms/cohort-roles")
    assert r.status_code == 200, r.text


def test_roles_come_back_after_a_restart_before_the_first_request(hub):
    ta = token_of(hub, "tara")
    make_group(hub, "c1-instructors", "tara")
    hub.api("POST", "/lms/cohort-roles")
    assert TA_SCOPES <= scopes_of(hub, ta)
    hub.restart()
    # the very first answer of the restarted hub already knows the role
    assert TA_SCOPES <= scopes_of(hub, ta)
    assert {"c0", "c1"} <= set(roles_listed(hub))
