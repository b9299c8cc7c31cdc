"""Course texts in Korean and English: the course format, `lms-content validate`'s lines for a
bad text, and which text a reader sees."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lms_extension.content.catalog import load_catalog
from lms_extension.content.cli import catalog_json
from lms_extension.i18n import gettext, localized, pick_language

from .course_fixture import LMS_CONTENT, write_course

ROOT = Path(__file__).resolve().parents[2]


def validate(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LMS_CONTENT, "validate", str(root)], capture_output=True, text=True)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1))


def test_the_demo_course_carries_korean_titles():
    data = catalog_json(load_catalog(ROOT / "content_repo"))["courses"][0]
    assert data["title"] == "Deep learning basics"
    assert localized(data["titles"], "ko") == "딥러닝 기초"
    numpy = data["lessons"][1]
    assert numpy["title"] == "NumPy basics" and numpy["titles"]["ko"] == "넘파이 기초"
    survey = data["surveys"]["end-of-lesson"]
    assert survey["titles"]["ko"] == "이번 레슨은 어땠나요?"
    pace = next(q for q in survey["questions"] if q["id"] == "pace")
    # answers keep the English text as the stored value; the Korean is a label next to it
    assert pace["options"] == ["too slow", "about right", "too fast"]
    assert [label["ko"] for label in pace["labels"]] == ["너무 느림", "적당함", "너무 빠름"]


def test_a_plain_string_and_a_partial_mapping_both_work(tmp_path):
    course = tmp_path / "course"
    write_course(course)
    manifest = course / "course.yaml"
    text = manifest.read_text()
    title_line = next(line for line in text.splitlines() if line.startswith("title:"))
    edit(manifest, title_line + "\n", "title: {ko: 한국어만 있는 코스}\n")
    result = validate(tmp_path)
    assert result.returncode == 0, result.stderr
    data = catalog_json(load_catalog(tmp_path))["courses"][0]
    # no English given: the first language is the default text everywhere a plain one is read
    assert data["title"] == "한국어만 있는 코스" and data["titles"] == {"ko": "한국어만 있는 코스"}
    assert all(lesson["titles"] == {} for lesson in data["lessons"])


BAD = {
    "an unknown language": ("{en: One, fr: Un}",
                            "'fr' is not a language of the platform (use en, ko)"),
    "an empty text": ('{en: One, ko: ""}', "the ko text is empty"),
    "an empty mapping": ("{}", "give the text in at least one language (en, ko)"),
    "a list": ("[One, 하나]", "must be a string or a mapping of language (en, ko) to text"),
    "a number": ("{en: One, ko: 1}", "the ko text must be a string"),
}


@pytest.mark.parametrize("value, message", BAD.values(), ids=list(BAD))
def test_a_bad_lesson_title_gets_a_file_line_field_message(tmp_path, value, message):
    course = tmp_path / "course"
    write_course(course)
    manifest = course / "course.yaml"
    lines = manifest.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("title:")
              and line.startswith(" "))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines[at] = f"{indent}title: {value}"
    manifest.write_text("\n".join(lines) + "\n")
    result = validate(tmp_path)
    assert result.returncode == 1
    assert f"course/course.yaml:{at + 1}: lessons.0.title: {message}" in result.stderr, \
        result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_survey_choice_names_the_option(tmp_path):
    course = tmp_path / "course"
    write_course(course)
    surveys = sorted((course / "surveys").glob("*.yaml"))
    assert surveys, "the course fixture has a survey"
    path = surveys[0]
    text = path.read_text()
    path.write_text(text + "\n".join([
        "  - id: bilingual",
        "    type: single",
        "    text: {en: \"Which?\", ko: \"어느 것?\"}",
        "    options: [{en: one, ko: 하나}, {en: two, xx: 둘}]",
    ]) + "\n")
    result = validate(tmp_path)
    assert result.returncode == 1
    assert "questions." in result.stderr and ".options.1: 'xx' is not a language" in \
        result.stderr, result.stderr


def test_localized_picks_the_language_then_english_then_the_first():
    texts = {"en": "NumPy basics", "ko": "넘파이 기초"}
    assert localized(texts, "ko") == "넘파이 기초"
    assert localized(texts, "en") == "NumPy basics"
    assert localized({"ko": "넘파이 기초"}, "en") == "넘파이 기초"
    assert localized("NumPy basics", "ko") == "NumPy basics"


def test_the_language_of_a_request():
    assert pick_language(None, "ko-KR,ko;q=0.9,en-US;q=0.8") == "ko"
    assert pick_language(None, "fr-FR,ko;q=0.5,en;q=0.7") == "en"
    assert pick_language("ko", "en-US") == "ko"
    assert pick_language("xx", "ko") == "ko"
    assert pick_language(None, None) == "en"
    assert gettext("ko")("{n} lessons", n=7) == "레슨 7개"
    assert gettext("en")("{n} lessons", n=7) == "7 lessons"


def test_every_translation_keeps_the_fields_of_its_english_text():
    import re
    field = re.compile(r"{\w*}")
    for path in sorted((ROOT / "lms_extension" / "i18n" / "ko").glob("*.json")):
        for english, korean in json.loads(path.read_text(encoding="utf-8")).items():
            assert sorted(field.findall(english)) == sorted(field.findall(korean)), \
                (path.name, english)


def test_every_page_text_has_one_korean_translation_across_the_catalogs():
    """The per-area catalogs are merged: a text translated two ways would show one of them
    on every page, whichever file sorts last."""
    import json
    from pathlib import Path

    import lms_extension.i18n

    seen: dict[str, dict[str, str]] = {}
    for path in sorted((Path(lms_extension.i18n.__file__).parent / "ko").glob("*.json")):
        for english, korean in json.loads(path.read_text(encoding="utf-8")).items():
            seen.setdefault(english, {})[path.name] = korean
    clashes = {text: where for text, where in seen.items() if len(set(where.values())) > 1}
    assert not clashes, clashes
