"""The course format: the demo course loads, broken manifests get precise file:line messages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lms_extension.content import ContentError, LessonNotFound, load_catalog

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


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    course = tmp_path / "dl-basics"
    shutil.copytree(DEMO / "dl-basics", course)
    manifest = course / "course.yaml"
    text = manifest.read_text()
    assert old in text
    manifest.write_text(text.replace(old, new, 1))
    return tmp_path


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("environment: python", "environment: gpu",
         "dl-basics/course.yaml:15: lessons.0.environment: 'gpu' is not one of the environments"),
        ("slug: numpy-basics", "slug: python-basics",
         "dl-basics/course.yaml:17: lessons.1.slug: 'python-basics' is used twice"),
        ("[02-numpy/numpy-basics.ipynb]", "[../../etc/passwd.ipynb]",
         "dl-basics/course.yaml:19: lessons.1.notebooks: Value error, '../../etc/passwd.ipynb' leaves"),
        ("[02-numpy/numpy-basics.ipynb]", "[02-numpy/missing.ipynb]",
         "dl-basics/course.yaml:19: lessons.1.notebooks.0: 02-numpy/missing.ipynb does not exist"),
        ("title: NumPy basics", "titel: NumPy basics",
         "dl-basics/course.yaml:18: lessons.1.titel: Extra inputs are not permitted"),
        ("due: 14d", "due: next tuesday",
         "dl-basics/course.yaml:20: lessons.1.due: Value error, 'next tuesday' is neither"),
        ("lessons:", "lessons: [\n", "dl-basics/course.yaml:"),
    ],
)
def test_broken_manifest_names_file_line_and_field(tmp_path, old, new, expected):
    root = _broken(tmp_path, old, new)
    with pytest.raises(ContentError) as err:
        load_catalog(root)
    lines = [str(p) for p in err.value.problems]
    assert any(line.startswith(expected) for line in lines), lines


def test_cli_validate_reports_problems_without_traceback(tmp_path):
    root = _broken(tmp_path, "environment: python", "environment: gpu")
    cli = [sys.executable, "-m", "lms_extension.content.cli", "validate"]
    bad = subprocess.run([*cli, str(root)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "lessons.0.environment" in bad.stderr and "Traceback" not in bad.stderr
    good = subprocess.run([*cli, str(DEMO)], capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert "1 course(s), 3 lesson(s)" in good.stdout
    (tmp_path / "dl-basics" / "course.yaml").write_bytes(b"\xff\xfe\x00garbage")
    garbage = subprocess.run([*cli, str(root)], capture_output=True, text=True)
    assert garbage.returncode == 1 and "Traceback" not in garbage.stderr
    assert "dl-basics/course.yaml:1: course:" in garbage.stderr
