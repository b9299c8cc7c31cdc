"""`lms-content execute`: every lesson runs in its own image (real Docker), failures are named."""

from __future__ import annotations

import shutil
import subprocess

import nbformat
import pytest

from ..hubctl import ROOT
from .course_fixture import LMS_CONTENT, write_course


def execute(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LMS_CONTENT, "execute", *args], capture_output=True, text=True)


def test_the_demo_course_runs_green_each_lesson_in_its_image(docker_engine):
    result = execute(str(ROOT / "content_repo"))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for key, image in (
        ("dl-basics/python-basics", "lms/base:latest"),
        ("dl-basics/pandas-exploration", "lms/scipy:latest"),
        ("dl-basics/pytorch-mlp", "lms/pytorch:latest"),
        ("dl-basics/cnn-digits", "lms/pytorch:latest"),
    ):
        assert any(f"{key} in {image} … passed" in line for line in lines), lines
    assert lines[-1].startswith("7 lesson(s): 7 passed, 0 failed")


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


PRODUCTION = "dl-basics/07-production/model-to-production.ipynb"
RIGHT_ANSWERS = {"split": "test", "drift": "b", "latency": "p99", "export": "onnx",
                 "versions": "d", "batch": "batch", "rollout": "a"}


def answer_questions(repo, answers: dict[str, str]) -> None:
    """Fill in the production lesson as a learner would, then assert what its checker says."""
    path = repo / PRODUCTION
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for question, answer in answers.items():
            cell.source = cell.source.replace(f"{question} = None", f"{question} = {answer!r}")
    nb.cells.append(nbformat.v4.new_code_cell(
        "assert results == dict.fromkeys(EXPECTED, True), results"))
    nbformat.write(nb, path)


@pytest.mark.parametrize("wrong", [None, "latency"])
def test_the_production_questions_accept_the_right_answers_only(tmp_path, wrong):
    """As committed, no question is answered and the lesson still runs green; answered right,
    the checker marks every question right; one wrong answer is marked wrong."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "content_repo", repo)
    key = "dl-basics/model-to-production"
    assert execute(str(repo), "--local", "--lesson", key).returncode == 0
    answer_questions(repo, dict(RIGHT_ANSWERS, **({wrong: "mean"} if wrong else {})))
    result = execute(str(repo), "--local", "--lesson", key)
    if wrong is None:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert result.returncode == 1
        assert "AssertionError: {" in result.stdout and f"'{wrong}': False" in result.stdout


def test_unknown_lesson_is_named(tmp_path):
    write_course(tmp_path / "course-a")
    result = execute(str(tmp_path), "--local", "--lesson", "course-a/nope")
    assert result.returncode == 1
    assert "--lesson: course 'course-a' has no lesson 'nope'" in result.stderr
