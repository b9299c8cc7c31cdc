"""`lms-content execute`: every lesson runs in its own image (real Docker), failures are named.
The demo course itself runs in tests/content/test_demo_course.py."""

from __future__ import annotations

import subprocess

import pytest

from .course_fixture import LMS_CONTENT, write_course


def execute(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LMS_CONTENT, "execute", *args], capture_output=True, text=True)


def test_a_failing_cell_is_named_with_its_error(docker_engine, tmp_path):
    write_course(tmp_path / "course-a", two=("y = 2", "assert y == 3, 'y should be 3'", "z = 4"))
    result = execute(str(tmp_path))
    assert result.returncode == 1
    assert "[1/2] course-a/one in lms/scipy:latest … passed" in result.stdout
    assert "[2/2] course-a/two in lms/scipy:latest … FAILED" in result.stdout
    assert "course-a/02-two/two.ipynb: cell 2 AssertionError: y should be 3" in result.stdout
    assert "2 lesson(s): 1 passed, 1 failed" in result.stdout


def test_a_cell_past_the_timeout_fails(docker_engine, tmp_path):
    write_course(tmp_path / "course-a", one=("import time", "time.sleep(30)"))
    result = execute(str(tmp_path), "--timeout", "2", "--lesson", "course-a/one")
    assert result.returncode == 1
    assert "cell 2 CellTimeoutError: cell 2 ran longer than the 2 s timeout" in result.stdout


def test_a_missing_image_is_a_clear_failure(docker_engine, tmp_path):
    course = write_course(tmp_path / "course-a")
    manifest = course / "course.yaml"
    manifest.write_text(manifest.read_text().replace("lms/scipy:latest", "lms/nowhere:1"))
    result = execute(str(tmp_path), "--lesson", "course-a/one")
    assert result.returncode == 1
    assert "image lms/nowhere:1 is not on this machine: build it with" in result.stdout


@pytest.mark.parametrize("lesson, ok", [("course-a/one", True), ("course-a/two", False)])
def test_local_execution(tmp_path, lesson, ok):
    write_course(tmp_path / "course-a", two=("raise ValueError('broken on purpose')",))
    result = execute(str(tmp_path), "--local", "--lesson", lesson)
    assert (result.returncode == 0) is ok, result.stdout + result.stderr
    if not ok:
        assert "cell 1 ValueError: broken on purpose" in result.stdout
        # the traceback's last lines follow, as plain text (no terminal colour codes)
        assert "ValueError                                Traceback" in result.stdout
        assert "\x1b[" not in result.stdout


def test_unknown_lesson_is_named(tmp_path):
    write_course(tmp_path / "course-a")
    result = execute(str(tmp_path), "--local", "--lesson", "course-a/nope")
    assert result.returncode == 1
    assert "--lesson: course 'course-a' has no lesson 'nope'" in result.stderr
