"""What the school's LMS admin enters to register the hub as an LTI 1.3 tool.

Two ways to read it: hub admins open ``/hub/lms/lti`` (a page of the hub, with this hub's own
address and settings), and ``lms-lti-config --url https://hub.school.example`` (or
``python -m lms_spawner.lti_config``) prints the same on a console.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from jupyterhub.handlers.base import BaseHandler
from jupyterhub.utils import url_path_join
from tornado import web


def tool_settings(hub_url: str, base_url: str = "/") -> list[tuple[str, str]]:
    """(what the LMS calls it, value) for a hub served at ``hub_url`` under ``base_url``."""
    hub = url_path_join(hub_url.rstrip("/") + base_url, "hub")
    return [
        ("Login initiation URL (OIDC login / initiate login URL)",
         url_path_join(hub, "lti13/oauth_login")),
        ("Redirect URI (redirection URI / launch URL)", url_path_join(hub, "lti13/oauth_callback")),
        ("Public keyset URL (tool JWKS URL)", url_path_join(hub, "lti13/jwks")),
        ("Target link URI (default launch)", url_path_join(hub, "") + "/"),
        ("Content selection URL (deep linking URL)", url_path_join(hub, "lti13/deep-link")),
        ("Deep link to one lesson (target link URI of an activity)",
         url_path_join(hub, "lms/open/<course>/<lesson>")),
        ("Custom parameters of an activity",
         "lesson=<course>/<lesson>  (optional: course=<course>)"),
        ("Services to enable", "IMS LTI Assignment and Grade Services (scores); "
                               "share the learner's name and email"),
        ("Tool configuration JSON (Canvas)", url_path_join(hub, "lti13/config")),
    ]


def platform_settings(env=os.environ) -> list[tuple[str, str]]:
    """What this hub expects from the platform (its LMS_LTI_* settings)."""
    names = ("LMS_LTI_ISSUER", "LMS_LTI_CLIENT_ID", "LMS_LTI_DEPLOYMENT_IDS",
             "LMS_LTI_JWKS_URL", "LMS_LTI_AUTHORIZE_URL", "LMS_LTI_TOKEN_URL")
    return [(name, env.get(name, "") or "(not set)") for name in names]


class LtiConfigHandler(BaseHandler):
    """``GET /hub/lms/lti``: the tool's settings for the school's LMS, for hub admins."""

    @web.authenticated
    async def get(self):
        user = self.current_user
        if not getattr(user, "admin", False):
            raise web.HTTPError(403, "only hub admins see the LTI settings")
        origin = f"{self.request.protocol}://{self.request.host}"
        html = await self.render_template(
            "lms_lti.html", tool=tool_settings(origin, self.base_url),
            platform=platform_settings(),
            lti_on=type(self.authenticator).__name__ == "LmsLTI13Authenticator")
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(html)


handlers = [(r"/lms/lti", LtiConfigHandler)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="lms-lti-config",
        description="Print what the school's LMS admin enters to add this hub as an LTI 1.3 tool.")
    parser.add_argument("--url", default=os.environ.get("LMS_PUBLIC_URL", "http://127.0.0.1:8000"),
                        help="the hub's public address, as learners' browsers reach it "
                             "(default: $LMS_PUBLIC_URL, else http://127.0.0.1:8000)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    tool, platform = tool_settings(args.url), platform_settings()
    if args.json:
        json.dump({"tool": dict(tool), "hub_settings": dict(platform)}, sys.stdout, indent=2)
        print()
        return 0
    print("Enter in the school's LMS (LTI 1.3 tool registration):")
    for name, value in tool:
        print(f"  {name}: {value}")
    print("\nThis hub's settings for the platform (environment):")
    for name, value in platform:
        print(f"  {name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
