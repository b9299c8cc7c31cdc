"""The spawn form: the catalog's courses and lessons as a list of choices (HTML-escaped), in the
request's language (:mod:`.language`)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from lms_extension import i18n
from lms_extension.content.catalog import Catalog

from .language import current_language


@cache
def _template():
    env = Environment(
        loader=PackageLoader("lms_spawner", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    return env.get_template("spawn_form.html")


def render_form(catalog: Catalog | None, selected: str = "", error: str = "",
                gpu_status: str = "") -> str:
    """HTML for the lesson picker; ``selected`` is pre-checked (e.g. the last lesson);
    ``gpu_status`` says how many GPUs are free, next to the lessons that need one."""
    courses = list(catalog.courses.values()) if catalog else []
    refs = catalog.lessons() if catalog else []
    environments = {ref.key: ref.environment_name for ref in refs}
    gpus = {ref.key: ref.environment.gpu for ref in refs}
    lang = current_language()
    return _template().render(courses=courses, environments=environments, gpus=gpus,
                              selected=selected, error=error, gpu_status=gpu_status,
                              lang=lang, _=i18n.gettext(lang),
                              localized=lambda value: i18n.localized(value, lang))
