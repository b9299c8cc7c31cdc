"""Running cohorts from the dashboard: create a cohort (its hub group and its
``<cohort>-instructors`` group, bound to a course with a start date), change its binding, add
and remove its learners and instructors. The hub is changed through its REST API with the
service's own token (the ``lms-service`` role: ``admin:groups``, ``read:users:name``); anything
refused is refused before the hub is changed, and a cohort whose binding cannot be stored
leaves no group it created behind.

Shared by the staff API (:mod:`.staff_api`) and the staff pages (:mod:`.staff`); every
function raises :class:`~.fields.FieldError` for bad input and expects an admin caller.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from urllib.parse import quote

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .db import Cohort
from .fields import INSTRUCTORS_SUFFIX, FieldError, check_cohort_name
from .progress import as_utc

log = logging.getLogger(__name__)


def instructors_group(cohort: str) -> str:
    return cohort + INSTRUCTORS_SUFFIX


class HubGroups:
    """The group and user calls of the hub's REST API that the service makes."""

    def __init__(self, hub):
        self.hub = hub  # :class:`.hubclient.HubClient`: its URL, token and members cache

    async def _call(self, method: str, path: str, body: dict | None = None):
        request = HTTPRequest(
            f"{self.hub.api_url}{path}", method=method,
            body=None if body is None else json.dumps(body),
            allow_nonstandard_methods=True,
            headers={"Authorization": f"token {self.hub.token}",
                     "Content-Type": "application/json"})
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        try:
            data = json.loads(response.body) if response.body else None
        except ValueError:
            data = None
        return response.code, data

    async def _ok(self, method: str, path: str, body: dict | None = None, also=()):
        code, data = await self._call(method, path, body)
        if code >= 400 and code not in also:
            message = (data or {}).get("message", "") if isinstance(data, dict) else ""
            log.error("hub %s %s: HTTP %s %s", method, path, code, message)
            raise web.HTTPError(502, f"the hub refused {method} {path}: HTTP {code} {message}")
        return code, data

    async def user_name(self, name: str) -> str | None:
        """The hub's name of user ``name``, or None when the hub has no such user."""
        code, data = await self._ok("GET", f"/users/{quote(name, safe='')}", also=(404,))
        return data.get("name", name) if code == 200 and isinstance(data, dict) else None

    async def create_group(self, group: str) -> bool:
        """Create ``group``; False when it exists already."""
        code, _ = await self._ok("POST", f"/groups/{quote(group, safe='')}", {}, also=(409,))
        self.hub.forget(group)
        return code != 409

    async def delete_group(self, group: str) -> None:
        await self._ok("DELETE", f"/groups/{quote(group, safe='')}", also=(404,))
        self.hub.forget(group)

    async def change_members(self, group: str, users: list[str], add: bool) -> None:
        await self._ok("POST" if add else "DELETE", f"/groups/{quote(group, safe='')}/users",
                       {"users": users})
        self.hub.forget(group)

    async def refresh_roles(self) -> None:
        """Ask the hub to bring the cohorts' instructor roles up to date with the groups
        (``POST …/hub/api/lms/cohort-roles``); a hub without that route is left alone."""
        code, data = await self._call("POST", "/lms/cohort-roles", {})
        if code >= 400 and code != 404:
            log.warning("the hub did not refresh the cohort roles: HTTP %s %s", code, data)


async def _cohort_or_404(service, group: str) -> Cohort:
    cohort = await service.run_db(lambda s: s.get(Cohort, group))
    if cohort is None:
        raise web.HTTPError(404, f"group: {group!r} is not a cohort")
    return cohort


def _check_course(service, course: str) -> str:
    if course not in service.content.index.courses:
        raise FieldError("course", "no course '{course}' in the live content", course=course)
    return course


def cohort_row(cohort: Cohort) -> dict:
    return {"group": cohort.group, "course": cohort.course, "start": as_utc(cohort.start)}


async def create_cohort(service, group: str, course: str, start: datetime) -> dict:
    """Create the hub groups of a new cohort (those that do not exist yet) and bind it."""
    group = check_cohort_name(group)
    _check_course(service, course)
    if await service.run_db(lambda s: s.get(Cohort, group)) is not None:
        raise FieldError("group", "'{group}' is a cohort already", group=group)
    hub = HubGroups(service.hub)
    created = []
    try:
        for name in (group, instructors_group(group)):
            if await hub.create_group(name):
                created.append(name)
        await service.run_db(lambda s: s.add(Cohort(group=group, course=course, start=start)))
    except Exception:
        for name in created:  # nothing half-written: the groups go with the binding
            try:
                await hub.delete_group(name)
            except Exception:  # noqa: BLE001 - the first error is the one to report
                log.exception("could not remove group %s after a failed cohort creation", name)
        raise
    await hub.refresh_roles()
    return {"group": group, "course": course, "start": start, "created_groups": created}


async def bind_cohort(service, group: str, course: str, start: datetime) -> dict:
    """Change an existing cohort's course and start date."""
    cohort = await _cohort_or_404(service, group)
    _check_course(service, course)

    def change(session):
        row = session.get(Cohort, cohort.group)
        row.course, row.start = course, start

    await service.run_db(change)
    await service.check_deadlines()
    return {"group": group, "course": course, "start": start}


async def known_users(service, names: list[str]) -> list[str]:
    """The hub's names of ``names``; a FieldError naming every unknown one."""
    hub = HubGroups(service.hub)
    found, unknown = [], []
    for name in names:
        real = await hub.user_name(name)
        (found if real else unknown).append(real or name)
    if unknown:
        raise FieldError("users", "no user named {names}",
                         names=", ".join(f"'{n}'" for n in unknown))
    return list(dict.fromkeys(found))


async def add_members(service, group: str, names: list[str], instructors: bool = False) -> dict:
    """Add learners (or instructors) to a cohort; every name must be a hub user."""
    await _cohort_or_404(service, group)
    users = await known_users(service, names)
    hub = HubGroups(service.hub)
    target = instructors_group(group) if instructors else group
    if instructors:
        await hub.create_group(target)  # cohorts bound before this screen may lack it
    await hub.change_members(target, users, add=True)
    await hub.refresh_roles()
    if not instructors:
        await service.check_deadlines()  # new learners are judged against the cohort's dates
    return {"group": target, "added": users, "members": await service.hub.members(target)}


async def remove_member(service, group: str, user: str, instructors: bool = False) -> dict:
    await _cohort_or_404(service, group)
    target = instructors_group(group) if instructors else group
    service.hub.forget(target)
    if user not in await service.hub.members(target):
        text = ("'{user}' is not an instructor of cohort '{group}'" if instructors
                else "'{user}' is not a member of cohort '{group}'")
        raise FieldError("user", text, user=user, group=group)
    hub = HubGroups(service.hub)
    await hub.change_members(target, [user], add=False)
    await hub.refresh_roles()
    return {"group": target, "removed": user, "members": await service.hub.members(target)}
