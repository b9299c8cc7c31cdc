"""Korean and English for every page a person reads (the dashboard, the learner's page, the
spawn form, error pages): which language a request asks for, the pages' translations, and course
texts that carry both languages.

Page texts are written in English in the templates and code, as ``_("Due {date}", date=…)``; the
Korean for each is in ``lms_extension/i18n/ko/*.json`` (one file per area of the product, each a
JSON object from the English text to the Korean; the files are merged). A text without a
translation shows in English.

The language: the ``lms-lang`` cookie (set by the language switch on every page), else the
browser's ``Accept-Language``, else English.

Course texts (lesson titles, survey questions) may be a plain string or one string per language,
``{en: "NumPy basics", ko: "NumPy 기초"}``; :func:`localized` picks the one to show.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "ko": "한국어"}
COOKIE = "lms-lang"
_HERE = Path(__file__).parent


def _primary(tag: str) -> str:
    return tag.strip().split(";")[0].strip().lower().replace("_", "-").split("-")[0]


def pick_language(cookie: str | None = None, accept_language: str | None = None) -> str:
    """The language to answer in: the switch's cookie, else the first of the browser's
    languages (by ``q``) that the platform speaks, else English."""
    if cookie and _primary(cookie) in LANGUAGES:
        return _primary(cookie)
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        if not part.strip():
            continue
        quality = 1.0
        for param in part.split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, position, _primary(part)))
    for quality, _, lang in sorted(ranked):
        if quality < 0 and lang in LANGUAGES:
            return lang
    return DEFAULT_LANGUAGE


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every page text's translation into ``lang`` (empty for English)."""
    merged: dict[str, str] = {}
    folder = _HERE / lang
    if lang == DEFAULT_LANGUAGE or not folder.is_dir():
        return merged
    for path in sorted(folder.glob("*.json")):
        texts = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(texts, dict):
            raise ValueError(f"{path}: must be a JSON object from English text to translation")
        merged.update({str(k): str(v) for k, v in texts.items()})
    return merged


def gettext(lang: str) -> Callable[..., str]:
    """``_(text, **values)`` for ``lang``: the translation of ``text`` (or ``text``), with
    ``{name}`` fields filled from ``values``."""
    texts = catalog(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)

    def _(text: str, **values) -> str:
        translated = texts.get(text, text)
        return translated.format(**values) if values else translated

    return _


def localized(value, lang: str) -> str:
    """A course text in ``lang``: a plain string as it is; of a ``{language: text}`` mapping the
    one in ``lang``, else English, else the first given."""
    if isinstance(value, dict):
        for key in (lang, DEFAULT_LANGUAGE):
            if value.get(key):
                return str(value[key])
        return str(next(iter(value.values()), ""))
    return "" if value is None else str(value)


_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def safe_next(url: str | None, fallback: str) -> str:
    """``url`` when it is a path on this site (``/…``), else ``fallback``: the language
    switch's ``next`` never sends anyone to another origin (``//evil``, ``https://…``,
    ``/\\evil``)."""
    url = url or ""
    parts = urlsplit(url)
    if (not url.startswith("/") or url.startswith("//") or _UNSAFE.search(url)
            or parts.scheme or parts.netloc):
        return fallback
    return url


def request_language(cookies, accept_language: str | None) -> str:
    """:func:`pick_language` for a request whose cookies are a mapping of name to value or to
    a cookie (``http.cookies.Morsel``, as tornado keeps them)."""
    cookie = cookies.get(COOKIE) if cookies else None
    return pick_language(getattr(cookie, "value", cookie), accept_language)
