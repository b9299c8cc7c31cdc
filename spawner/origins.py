"""Per-user origins: every lesson server and service on a host name of its own.

With JupyterHub's ``subdomain_host`` each learner's server is served at
``<name>.<hub host>`` and each service at ``<service>--service.<hub host>``. The browser then
keeps them apart from the hub: JavaScript a learner controls (a labextension or a notebook output
in their home) runs on the learner's origin, where it cannot read the hub's cookies or pages
and cannot call the hub's API or the LMS service with the credentials of an admin or instructor
who opens that server.

``http://localhost:<port>`` needs no DNS set-up: browsers resolve every ``*.localhost`` name to
the loopback address. A deployment on a real host name needs wildcard DNS (and a wildcard TLS
certificate) for ``*.<host>``.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

OFF = "off"


class OriginsError(ValueError):
    """``LMS_SUBDOMAIN_HOST`` cannot be used."""


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return ip == "localhost"


def subdomain_host(setting: str | None, hub_ip: str, hub_port: int) -> str:
    """The hub's ``subdomain_host`` for ``LMS_SUBDOMAIN_HOST`` (``''`` when switched off).

    Unset, a hub that listens on a loopback address gets ``http://localhost:<port>``; a hub that
    listens elsewhere must be told its public URL (or ``off``), since only the deployment knows
    which names reach it.
    """
    value = (setting or "").strip()
    if value.lower() == OFF:
        return ""
    if not value:
        if _is_loopback(hub_ip):
            return f"http://localhost:{hub_port}"
        raise OriginsError(
            f"LMS_SUBDOMAIN_HOST: the hub listens on {hub_ip}, so set it to the platform's public "
            "URL (e.g. https://hub.example.edu, with wildcard DNS and TLS for *.hub.example.edu) "
            "or to 'off' (learners' JavaScript then runs on the hub's origin; see README, "
            "'Security model')"
        )
    url = urlparse(value)
    if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/"):
        raise OriginsError(f"LMS_SUBDOMAIN_HOST: {value!r} is not a URL like "
                           "https://hub.example.edu or http://localhost:8000")
    return f"{url.scheme}://{url.netloc}"
