"""Instructor roles that follow the hub's groups, live.

The members of the hub group ``<cohort>-instructors`` teach ``<cohort>``. For every such group
the hub keeps a role ``lms-staff-<cohort>``, granted to that group and nothing else, with the
scopes an instructor or teaching assistant needs (:meth:`CohortRoles.scopes_for`):

* ``custom:lms:instructor!group=<cohort>`` and ``access:services!service=lms``: the cohort's
  progress, survey answers and deadlines in the LMS service;
* ``access:servers!group=<cohort>``: open the cohort's learners' servers (to help; every visit
  is recorded, see :mod:`.visits`), never start, stop or delete them;
* ``read:servers!group=<cohort>`` and ``list:users!group=<cohort>``: find those servers.

Adding someone to ``<cohort>-instructors`` (admin panel, or ``POST /hub/api/groups/<cohort>-
instructors/users``) therefore makes them an instructor at once, and removing them takes it
away: the role stays with the group. A new ``-instructors`` group gets its role within
``interval`` seconds, or at once through ``POST /hub/api/lms/cohort-roles``; a role whose group
is gone is deleted as quickly. JupyterHub deletes at every start the roles its configuration
does not name: the hub makes them again before it listens for requests.

``GET``/``POST /hub/api/lms/cohort-roles`` (the roles / reconcile now): hub admins (a token
holding ``custom:lms:admin``) and tokens holding ``admin:groups`` (the LMS service's, which
calls it after making a cohort). Registered by ``hub_config/jupyterhub_config.py`` with
:func:`watch_cohort_roles` and :data:`handlers`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re

from jupyterhub import orm, roles
from jupyterhub.apihandlers.base import APIHandler
from tornado import web
from traitlets import Float, Unicode, validate
from traitlets.config import LoggingConfigurable

from .visits import ensure_table

ADMIN_SCOPE = "custom:lms:admin"
SETTINGS_KEY = "lms_cohort_roles"
_ROLE_CHARS = re.compile(r"[^a-z0-9._~-]+")


class CohortRoles(LoggingConfigurable):
    """Keeps one role per ``<cohort>-instructors`` group in the hub's database."""

    interval = Float(
        5.0,
        config=True,
        help="""Seconds between two checks of the hub's groups: a new ``<cohort>-instructors``
        group gets its role, a role whose group is gone is deleted, within this time (``POST
        /hub/api/lms/cohort-roles`` does it at once). Membership changes need no check: the
        role belongs to the group.""",
    )

    @validate("interval")
    def _positive(self, proposal):
        if proposal.value <= 0:
            raise ValueError(f"CohortRoles.interval={proposal.value}: must be above 0")
        return proposal.value

    role_prefix = Unicode(
        "lms-staff-",
        config=True,
        help="""Name prefix of the roles this hub keeps for cohorts (``lms-staff-<cohort>``).
        Every role whose name starts with it belongs to the hub: one without its group is
        deleted.""",
    )

    group_suffix = Unicode(
        "-instructors",
        config=True,
        help="""The members of the hub group ``<cohort><group_suffix>`` teach ``<cohort>``.""",
    )

    # -- what a cohort's role is -----------------------------------------------------------------

    def role_name(self, cohort: str) -> str:
        """``<role_prefix><cohort>``; a cohort name that is not a valid role name (upper case,
        spaces, …) is spelled in lower case with a short hash of the real name."""
        slug = _ROLE_CHARS.sub("-", cohort.lower()).strip("-._~") or "cohort"
        if slug != cohort:
            slug = f"{slug}-{hashlib.sha256(cohort.encode()).hexdigest()[:8]}"
        return (self.role_prefix + slug)[:255]

    @staticmethod
    def scopes_for(cohort: str) -> list[str]:
        return [
            f"custom:lms:instructor!group={cohort}",
            "access:services!service=lms",
            f"access:servers!group={cohort}",
            f"read:servers!group={cohort}",
            f"list:users!group={cohort}",
        ]

    def role_spec(self, cohort: str) -> dict:
        return {
            "name": self.role_name(cohort),
            "description": f"Instructors of cohort {cohort} (members of group "
                           f"{cohort}{self.group_suffix}); kept by the hub",
            "scopes": self.scopes_for(cohort),
        }

    # -- reconcile ---------------------------------------------------------------------------------

    def cohorts(self, db) -> dict[str, orm.Group]:
        """Cohort name -> its instructors' group, from the hub's groups."""
        found = {}
        for group in db.query(orm.Group).all():
            if group.name.endswith(self.group_suffix):
                cohort = group.name[: -len(self.group_suffix)]
                if cohort:
                    found[cohort] = group
        return found

    def reconcile(self, db) -> dict:
        """Make the roles match the groups now; return what there is and what changed."""
        wanted = {}
        created, removed = [], []
        try:
            for cohort, group in sorted(self.cohorts(db).items()):
                spec = self.role_spec(cohort)
                wanted[spec["name"]] = cohort
                if orm.Role.find(db, spec["name"]) is None:
                    created.append(cohort)
                role = roles.create_role(db, spec, commit=False)
                # the group's, and nobody else's
                if role not in group.roles:
                    group.roles.append(role)
                for other in [g for g in role.groups if g is not group]:
                    role.groups.remove(other)
                if role.users or role.services:
                    role.users.clear()
                    role.services.clear()
            for role in db.query(orm.Role).filter(orm.Role.name.startswith(self.role_prefix)):
                if role.name not in wanted:
                    removed.append(role.name)
                    db.delete(role)
            db.commit()
        except Exception:
            db.rollback()
            raise
        for cohort in created:
            self.log.info("Cohort roles: %s teaches %s (role %s)",
                          cohort + self.group_suffix, cohort, self.role_name(cohort))
        for name in removed:
            self.log.info("Cohort roles: deleted role %s (its group is gone)", name)
        return {"roles": self.listing(wanted.values()), "created": created, "removed": removed}

    def listing(self, cohorts) -> list[dict]:
        return [{"cohort": c, "role": self.role_name(c), "group": c + self.group_suffix}
                for c in sorted(cohorts)]

    # -- in the hub process ------------------------------------------------------------------------

    async def run(self, app) -> None:
        """Reconcile now, then every ``interval`` seconds."""
        app.tornado_application.settings[SETTINGS_KEY] = self
        ensure_table(app.db.get_bind())
        while True:
            try:
                self.reconcile(app.db)
            except Exception:  # a bad role must not end the loop; say why, try again later
                self.log.exception("Cohort roles: reconcile failed")
            await asyncio.sleep(self.interval)


def watch_cohort_roles() -> None:
    """From the hub's configuration file: keep the cohort roles of the hub being configured
    (its settings: ``c.CohortRoles.*``, read once the whole configuration is loaded)."""
    from jupyterhub.app import JupyterHub

    app = JupyterHub.instance()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # a command that only reads the configuration (upgrade-db, …)
        return

    async def keep():
        # the hub has loaded its roles and built its web application, and does not listen yet
        while getattr(app, "tornado_application", None) is None:
            await asyncio.sleep(0.005)
        await CohortRoles(parent=app, log=app.log).run(app)

    task = loop.create_task(keep())
    app._lms_tasks = getattr(app, "_lms_tasks", ()) + (task,)


class CohortRolesHandler(APIHandler):
    def check_caller(self) -> CohortRoles:
        user = self.current_user
        if user is None:
            raise web.HTTPError(403, "a hub token or login is needed")
        owner_is_admin = getattr(user, "kind", "user") == "service" or getattr(user, "admin",
                                                                                False)
        if not ((owner_is_admin and ADMIN_SCOPE in self.expanded_scopes)
                or self.has_scope("admin:groups")):
            raise web.HTTPError(403, "only hub admins and group managers may reconcile the "
                                     "cohort roles")
        keeper = self.settings.get(SETTINGS_KEY)
        if keeper is None:
            raise web.HTTPError(503, "the hub is still starting; try again")
        return keeper

    def send(self, data: dict) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    async def get(self):
        keeper = self.check_caller()
        self.send({"roles": keeper.listing(keeper.cohorts(self.db))})

    async def post(self):
        self.send(self.check_caller().reconcile(self.db))


handlers = [(r"/api/lms/cohort-roles", CohortRolesHandler)]
