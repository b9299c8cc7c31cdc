"""An editor's tools: new-lesson, strip, and the pull-request flow against a real git remote."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .course_fixture import LMS_CONTENT, write_course


def lms(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([LMS_CONTENT, *args], capture_output=True, text=True, cwd=cwd)


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Editor", "-c", "user.email=editor@example.org",
         "-c", "init.defaultBranch=main", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )
    return result.stdout.strip()


def test_new_lesson_scaffolds_a_valid_lesson_and_keeps_comments(tmp_path):
    course = write_course(tmp_path / "course-a")
    manifest = course / "course.yaml"
    manifest.write_text(manifest.read_text().replace("lessons:", "lessons:  # in order"))
    result = lms("new-lesson", str(course), "attention", "--title", 'Attention: "why"',
                 "--environment", "cpu", "--due", "21d")
    assert result.returncode == 0, result.stderr
    assert (course / "03-attention" / "attention.ipynb").is_file()
    text = manifest.read_text()
    assert "lessons:  # in order" in text
    assert lms("validate", str(tmp_path)).returncode == 0
    catalog = json.loads(lms("catalog", str(tmp_path)).stdout)["courses"][0]
    assert [lesson["slug"] for lesson in catalog["lessons"]] == ["one", "two", "attention"]
    assert catalog["lessons"][2]["title"] == 'Attention: "why"'
    assert catalog["lessons"][2]["due"] == "21d"


def test_new_lesson_refuses_and_writes_nothing(tmp_path):
    course = write_course(tmp_path / "course-a")
    before = (course / "course.yaml").read_text()
    for args, message in (
        (["one", "--title", "Again"], "slug: the course already has a lesson 'one'"),
        (["Bad Slug", "--title", "X"], "slug: 'Bad Slug' must be lower-case"),
        (["three", "--title", "X", "--environment", "gpu"], "environment: 'gpu' is not one"),
        (["three", "--title", "X", "--due", "someday"], "lessons.2.due: Value error"),
    ):
        result = lms("new-lesson", str(course), *args)
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert (course / "course.yaml").read_text() == before
    assert sorted(p.name for p in course.iterdir()) == [
        "01-one", "02-two", "course.yaml", "surveys"]


def test_strip_removes_outputs_and_check_mode_reports_them(tmp_path):
    course = write_course(tmp_path / "course-a")
    path = course / "01-one" / "one.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][1].update(execution_count=4, outputs=[
        {"output_type": "stream", "name": "stdout", "text": "1\n"}])
    path.write_text(json.dumps(nb, indent=1))
    check = lms("strip", "--check", str(course))
    assert check.returncode == 1 and "01-one/one.ipynb:1: notebook: has outputs" in check.stderr
    assert lms("validate", str(tmp_path)).returncode == 1
    strip = lms("strip", str(course))
    assert strip.returncode == 0 and "stripped" in strip.stdout
    cell = json.loads(path.read_text())["cells"][1]
    assert (cell["outputs"], cell["execution_count"], cell["id"]) == ([], None, nb["cells"][1]["id"])
    assert lms("strip", "--check", str(course)).returncode == 0
    assert lms("validate", str(tmp_path)).returncode == 0


def test_strip_adds_missing_cell_ids(tmp_path):
    course = write_course(tmp_path / "course-a")
    path = course / "02-two" / "two.ipynb"
    nb = json.loads(path.read_text())
    nb["nbformat_minor"] = 4
    for cell in nb["cells"]:
        cell.pop("id")
    path.write_text(json.dumps(nb))
    assert "nbformat_minor: is 4" in lms("validate", str(tmp_path)).stderr
    assert lms("strip", str(path)).returncode == 0
    assert lms("validate", str(tmp_path)).returncode == 0


def test_pull_request_flow_against_a_real_remote(tmp_path):
    """An editor's branch with a broken lesson fails the check; the fix on the branch passes."""
    remote = tmp_path / "courses.git"
    git(tmp_path, "init", "--bare", str(remote))
    editor = tmp_path / "editor"
    git(tmp_path, "clone", str(remote), str(editor))
    write_course(editor / "course-a")
    git(editor, "add", ".")
    git(editor, "commit", "-m", "Course A")
    git(editor, "push", "origin", "HEAD:main")

    git(editor, "switch", "-c", "new-lesson")
    assert lms("new-lesson", "course-a", "three", "--title", "Three", cwd=editor).returncode == 0
    nb_path = editor / "course-a" / "03-three" / "three.ipynb"
    nb = json.loads(nb_path.read_text())
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ready\n"}]
    nb_path.write_text(json.dumps(nb, indent=1))
    git(editor, "add", ".")
    git(editor, "commit", "-m", "Add lesson three")
    git(editor, "push", "origin", "new-lesson")

    def ci_check(branch: str) -> subprocess.CompletedProcess:
        checkout = tmp_path / f"ci-{branch}-{git(editor, 'rev-parse', '--short', 'HEAD')}"
        git(tmp_path, "clone", "--branch", branch, str(remote), str(checkout))
        return lms("validate", str(checkout))

    failing = ci_check("new-lesson")
    assert failing.returncode == 1
    assert failing.stderr.startswith("course-a/03-three/three.ipynb:"), failing.stderr
    assert "cells.1.outputs: has outputs" in failing.stderr

    assert lms("strip", "course-a", cwd=editor).returncode == 0
    git(editor, "commit", "-am", "Strip outputs")
    git(editor, "push", "origin", "new-lesson")
    passing = ci_check("new-lesson")
    assert passing.returncode == 0, passing.stderr
    assert "3 lesson(s)" in passing.stdout
    assert ci_check("main").stdout.count("2 lesson(s)") == 1
