"""The hub's pages in the request's language (the ``lms-lang`` cookie of the language switch,
else the browser's ``Accept-Language``): the spawn form, the spawn page around it and the error
pages of lesson spawns.

JupyterHub renders its pages with ``template_vars`` that know the user but not the request; a
tornado output transform, made by tornado for every request before its handler runs, notes the
request's language in a context variable that the handler's task inherits. ``HUB_TEMPLATES``
holds our ``spawn.html`` and ``error.html``, which extend JupyterHub's own.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

from tornado.web import OutputTransform

from lms_extension import i18n

HUB_TEMPLATES = str(Path(__file__).with_name("templates") / "hub")
_LANGUAGE: ContextVar[str] = ContextVar("lms_request_language", default=i18n.DEFAULT_LANGUAGE)


class RequestLanguage(OutputTransform):
    """Notes the language of each request the hub answers (changes no output)."""

    def __init__(self, request):
        super().__init__(request)
        _LANGUAGE.set(i18n.request_language(request.cookies,
                                            request.headers.get("Accept-Language")))


def current_language() -> str:
    """The language of the request being answered (English outside a request)."""
    return _LANGUAGE.get()


def template_vars() -> dict:
    """For ``c.JupyterHub.template_vars``: ``lms_lang``, ``lms_languages`` and ``lms_`` (the
    page texts' translation) for the request being answered."""
    return {
        "lms_lang": lambda user: current_language(),
        "lms_languages": i18n.LANGUAGE_NAMES,
        "lms_": lambda user: i18n.gettext(current_language()),
    }
