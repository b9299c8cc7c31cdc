"""Keeping credentials out of what people see.

A content repo URL may carry a secret: ``https://user:token@host/course.git``, a token as the
user name, or a token in the query (``?private_token=…``, a signed URL's ``sig=…``). Everything
the hub and the LMS service show or log about the repo goes through :func:`redact_url` or
:func:`redact`, which put ``***`` in place of the user info and of every query value.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

MASK = "***"
# scheme://authority[/path][?query][#fragment], up to the first character that ends a URL in
# running text (white space, quotes, angle brackets), less trailing punctuation ("…/x.git: …")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]*[^\s'\"<>`:;,.!?)\]]")
_SPLIT = re.compile(r"^(?P<scheme>[^:]+://)(?P<authority>[^/?#]*)(?P<path>[^?#]*)"
                    r"(?:\?(?P<query>[^#]*))?(?P<fragment>#.*)?$", re.DOTALL)
# a literal secret shorter than this is not searched for outside URLs (it would mask words)
MIN_SECRET = 4


def redact_url(url: str) -> str:
    """``url`` with its user info and the values of its query replaced by ``***``.

    Anything that is not a ``scheme://`` URL (a local path, ``git@host:repo``) is returned
    unchanged: it carries no password.
    """
    match = _SPLIT.match(url)
    if not match:
        return url
    authority = match["authority"]
    if "@" in authority:
        authority = MASK + "@" + authority.rsplit("@", 1)[1]
    out = match["scheme"] + authority + match["path"]
    if match["query"] is not None:
        out += "?" + "&".join(
            (part.split("=", 1)[0] + "=" + MASK) if "=" in part else part
            for part in match["query"].split("&")
        )
    return out + (match["fragment"] or "")


def url_secrets(url: str) -> list[str]:
    """The secrets in ``url`` (as written, percent-decoded and percent-encoded), longest first:
    the password, the user name when it stands alone (a token as the user name), the query
    values."""
    match = _SPLIT.match(url)
    if not match:
        return []
    found: set[str] = set()
    authority = match["authority"]
    if "@" in authority:
        user, _, password = authority.rsplit("@", 1)[0].partition(":")
        found.update([password] if password else [user])
    for part in (match["query"] or "").split("&"):
        if "=" in part:
            found.add(part.split("=", 1)[1])
    found |= {unquote(secret) for secret in found}
    found |= {quote(secret, safe="") for secret in found}
    return sorted((s for s in found if len(s) >= MIN_SECRET), key=len, reverse=True)


def redact(text: str, *urls: str) -> str:
    """``text`` with every URL in it redacted (:func:`redact_url`), and every secret of
    ``urls`` (the configured ones) masked wherever it appears, in a URL or not."""
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    for url in urls:
        for secret in url_secrets(url):
            text = text.replace(secret, MASK)
    return text
