"""The course format: the demo course loads, broken manifests get precise file:line messages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lms_extension.content import LessonNotFound, load_catalog

from ..hubctl import ROOT

DEMO = ROOT / "content_repo"


def test_demo_course_resolves_lessons_to_environments():
    catalog = load_catalog(DEMO)
    ref = catalog.resolve("dl-basics/python-basics")
    assert (ref.environment_name, ref.environment.image) == ("python", "lms/base:latest")
    ref = catalog.resolve("dl-basics/numpy-basics")
    assert (ref.environment_name, ref.environment.image) == ("scipy", "lms/scipy:latest")
    assert ref.first_notebook == "02-numpy/numpy-basics.ipynb"
    assert ref.course_dir == "dl-basics"
    images = {r.environment.image for r in catalog.lessons()}
    assert len(catalog.lessons()) >= 3 and len(images) >= 2


@pytest.mark.parametrize(
    "key, message",
    [
        ("nope/x", "unknown course 'nope'"),
        ("dl-basics/nope", "course 'dl-basics' has no lesson 'nope'"),
        ("dl-basics", "must be a string 'course/lesson'"),
        (42, "must be a string 'course/lesson'"),
    ],
)
def test_unknown_lessons_are_named(key, message):
    with pytest.raises(LessonNotFound, match=message):
        load_catalog(DEMO).resolve(key)


def test_demo_course_validates_and_prints_its_catalog():
    cli = [sys.executable, "-m", "lms_extension.content.cli"]
    good = subprocess.run([*cli, "validate", str(DEMO)], capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert "1 course(s), 10 lesson(s), 10 notebook(s)" in good.stdout
    out = subprocess.run([*cli, "catalog", str(DEMO)], capture_output=True, text=True)
    course = json.loads(out.stdout)["courses"][0]
    last = course["lessons"][-1]
    assert (last["survey"], last["completion"]["rule"]) == ("course-feedback", "manual")
    assert course["lessons"][0]["survey"] == "end-of-lesson"
    assert [q["type"] for q in course["surveys"]["course-feedback"]["questions"]] == [
        "rating", "multiple", "single", "text"]
    assert {lesson["environment"] for lesson in course["lessons"]} == {
        "python", "scipy", "torch", "gpu"}
