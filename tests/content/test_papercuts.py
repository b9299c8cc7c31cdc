"""What an editor trips on, each as the editor meets it: the command, and the line it prints."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import yaml

from lms_extension.content.due import due_at
from spawner.lesson_mixin import LessonMixin

from .course_fixture import LMS_CONTENT, write_course


def lms(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LMS_CONTENT, *args], capture_output=True, text=True)


def edit(course: Path, old: str, new: str) -> None:
    manifest = course / "course.yaml"
    text = manifest.read_text()
    assert old in text
    manifest.write_text(text.replace(old, new, 1))


def test_due_accepts_unquoted_dates_and_date_times_with_a_zone(tmp_path):
    course = write_course(tmp_path / "course-a")
    edit(course, "    due: 7d\n", "    due: 2027-03-01\n")  # YAML reads this as a date
    edit(course, "    environment: cpu\n",
         "    environment: cpu\n    due: 2027-03-08T09:00:00+09:00\n")  # and this as a datetime
    result = lms("validate", str(course))
    assert result.returncode == 0, result.stderr
    lessons = json.loads(lms("catalog", str(course)).stdout)["courses"][0]["lessons"]
    assert [lesson["due"] for lesson in lessons] == ["2027-03-01", "2027-03-08T09:00:00+09:00"]
    start = datetime(2027, 1, 1, tzinfo=UTC)
    # a bare date is the end of that day in UTC; a date-time is that moment
    assert due_at(start, lessons[0]["due"]) == datetime(2027, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert due_at(start, lessons[1]["due"]) == datetime(2027, 3, 8, 0, 0, tzinfo=UTC)

    edit(course, "2027-03-08T09:00:00+09:00", "2027-03-08T09:00:00")
    result = lms("validate", str(course))
    assert result.returncode == 1
    assert ("course.yaml:16: lessons.1.due: Value error, '2027-03-08T09:00:00' has no time "
            "zone: add one (2027-03-01T09:00:00+09:00 or …Z for UTC), or give a date alone (the "
            "end of that day, UTC)") in result.stderr, result.stderr


def test_strip_check_compares_notebooks_as_data(tmp_path):
    course = write_course(tmp_path / "course-a")
    path = course / "01-one" / "one.ipynb"
    nb = json.loads(path.read_text())
    path.write_text(json.dumps(nb, indent=4, sort_keys=False))  # another tool's layout, no "\n"
    layout = path.read_bytes()
    result = lms("strip", "--check", str(course))
    assert result.returncode == 0, result.stderr
    assert "2 notebook(s) checked, 0 need stripping, 0 unreadable" in result.stdout
    assert lms("strip", str(course)).returncode == 0
    assert path.read_bytes() == layout  # not rewritten for its layout

    nb["cells"][1]["execution_count"] = 3
    path.write_text(json.dumps(nb, indent=4))
    result = lms("strip", "--check", str(course))
    assert result.returncode == 1
    assert ("one.ipynb:1: notebook: has outputs or run metadata; run lms-content strip"
            in result.stderr)


def test_new_lesson_ignores_other_notebooks_and_says_when_nothing_was_created(tmp_path):
    course = write_course(tmp_path / "course-a")
    other = course / "02-two" / "two.ipynb"
    nb = json.loads(other.read_text())
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "2\n"}]
    other.write_text(json.dumps(nb))
    result = lms("new-lesson", str(course), "three", "--title", "Three")
    assert result.returncode == 0, result.stderr
    assert (course / "03-three" / "three.ipynb").is_file()

    result = lms("new-lesson", str(course), "four", "--title", "Four", "--due", "someday")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert "lessons.3.due: Value error, 'someday' is neither an offset" in lines[0]
    assert lines[-1] == (f"{course / 'course.yaml'}:1: lessons: lesson 'four' was not created; "
                         "nothing was changed")
    assert not (course / "04-four").exists()

    result = lms("new-lesson", str(course), "one", "--title", "Again")
    assert result.stderr.splitlines() == [
        f"{course / 'course.yaml'}:1: slug: the course already has a lesson 'one'",
        f"{course / 'course.yaml'}:1: lessons: lesson 'one' was not created; nothing was changed",
    ]


def test_a_cell_without_cell_type_gets_its_own_message(tmp_path):
    course = write_course(tmp_path / "course-a")
    path = course / "01-one" / "one.ipynb"
    nb = json.loads(path.read_text())
    del nb["cells"][1]["cell_type"]
    del nb["cells"][1]["id"]
    path.write_text(json.dumps(nb, indent=1))
    result = lms("validate", str(course))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        '01-one/one.ipynb:11: cells.1.cell_type: cell has no cell_type; add "cell_type": "code", '
        '"markdown" or "raw" by hand (no tool can tell which it was)']


def test_validate_applies_the_hubs_allowed_image_policy(tmp_path):
    course = write_course(tmp_path / "course-a")
    assert lms("validate", "--allowed-images", "lms/*", str(course)).returncode == 0
    result = lms("validate", "--allowed-images", "registry.example.org/*, lms/base:*",
                 str(course))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "course.yaml:4: environments.cpu.image: 'lms/scipy:latest' is outside the hub's "
        "allowed-image policy (registry.example.org/*, lms/base:*); the hub refuses its lessons"]
    # the hub's spawner decides with the same patterns the same way
    for patterns, allowed in ((["lms/*"], True), (["registry.example.org/*", "lms/base:*"], False)):
        assert LessonMixin(allowed_image_patterns=patterns).check_image_allowed(
            "lms/scipy:latest") is allowed


def test_the_same_notebook_in_two_lessons_is_refused(tmp_path):
    course = write_course(tmp_path / "course-a")
    edit(course, "notebooks: [02-two/two.ipynb]",
         "notebooks: [02-two/two.ipynb, ./01-one/one.ipynb]")
    result = lms("validate", str(course))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "course.yaml:14: lessons.1.notebooks.1: 01-one/one.ipynb is already listed in lesson "
        "'one'; a notebook belongs to one lesson, once"]


def test_z2jh_export_keeps_the_course_order(tmp_path):
    course = write_course(tmp_path / "course-a")
    edit(course, '  cpu: {image: "lms/scipy:latest"}\n',
         '  cpu: {image: "lms/scipy:latest"}\n  gpu: {image: "lms/pytorch:latest", gpu: 1}\n')
    edit(course, "    due: 7d\n", "    due: 7d\n    environment: gpu\n")
    lms("new-lesson", str(course), "three", "--title", "Three", "--environment", "gpu")
    result = lms("export-z2jh", str(course))
    assert result.returncode == 0, result.stderr
    profiles = yaml.safe_load(result.stdout)["singleuser"]["profileList"]
    assert [p["slug"] for p in profiles] == ["course-a"]
    choices = profiles[0]["profile_options"]["lesson"]["choices"]
    assert [(slug, c["display_name"], c["kubespawner_override"]["image"])
            for slug, c in choices.items()] == [
        ("one", "1. One (gpu)", "lms/pytorch:latest"),
        ("two", "2. Two (cpu)", "lms/scipy:latest"),
        ("three", "3. Three (gpu)", "lms/pytorch:latest"),
    ]
