"""The demo course: ten lessons in teaching order, exercises that ship unsolved, reference
solutions that pass every check in each lesson's own image, and checks that catch an exercise
left unsolved. Solutions never reach learners."""

from __future__ import annotations

import shutil
import subprocess

import nbformat
import pytest
import yaml

from lms_extension.content.learner_repo import publish_course

from ..hubctl import ROOT
from .course_fixture import LMS_CONTENT

COURSE = ROOT / "content_repo" / "dl-basics"
ORDER = ["python-basics", "numpy-basics", "pandas-exploration", "linear-regression",
         "pytorch-mlp", "datasets-dataloaders", "training-loop", "save-load", "cnn-digits",
         "model-to-production"]


def execute(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LMS_CONTENT, "execute", *args], capture_output=True, text=True)


def lessons() -> list[dict]:
    return yaml.safe_load((COURSE / "course.yaml").read_text())["lessons"]


def exercise_cells(notebook: str) -> list:
    nb = nbformat.read(COURSE / notebook, as_version=4)
    return [c for c in nb.cells
            if any(t.startswith("exercise:") for t in c.metadata.get("tags", []))]


def test_ten_lessons_in_teaching_order_each_titled_in_both_languages():
    listed = lessons()
    assert [lesson["slug"] for lesson in listed] == ORDER
    for lesson in listed[1:]:
        assert set(lesson["title"]) == {"en", "ko"}, lesson["slug"]
    environments = {lesson["slug"]: lesson.get("environment", "scipy") for lesson in listed}
    assert environments["save-load"] == "torch" and environments["cnn-digits"] == "gpu"
    assert environments["model-to-production"] == "python"


def test_exercises_ship_unsolved_and_their_solutions_stay_out_of_learner_repos(tmp_path):
    """Every lesson after the warm-up has exercises; the shipped cells differ from the
    reference solutions, which the learner repo leaves out."""
    for lesson in lessons()[1:]:
        (notebook,) = lesson["notebooks"]
        cells = exercise_cells(notebook)
        assert cells, f"{lesson['slug']} has no exercise"
        solutions = (COURSE / "solutions" / notebook).with_suffix(".py").read_text()
        for cell in cells:
            assert cell.source.strip() not in solutions, (lesson["slug"], cell.source)
    publish_course(tmp_path / "repos", "dl-basics", COURSE, "v1")
    files = subprocess.run(["git", "--git-dir", str(tmp_path / "repos" / "dl-basics.git"),
                            "ls-tree", "-r", "--name-only", "main"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert "05c-save-load/save-load.ipynb" in files
    assert "07-production/digits-model.json" in files
    assert not [f for f in files if f.startswith(("solutions/", "checks/"))], files


def test_every_lesson_passes_with_its_solutions_in_its_own_image(docker_engine):
    result = execute(str(ROOT / "content_repo"))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for number, (slug, image) in enumerate(zip(ORDER, [
            "lms/base", "lms/scipy", "lms/scipy", "lms/scipy", "lms/pytorch", "lms/pytorch",
            "lms/pytorch", "lms/pytorch", "lms/pytorch", "lms/base"]), 1):
        assert any(line.startswith(f"[{number}/10] dl-basics/{slug} in {image}:latest … passed")
                   for line in lines), lines
    assert lines[-1].startswith("10 lesson(s): 10 passed, 0 failed")


def test_an_unsolved_exercise_fails_at_its_check(docker_engine):
    """--unsolved leaves each exercise as shipped in turn: the checks catch both of NumPy
    basics' exercises, each at the check cell right after it."""
    result = execute(str(ROOT / "content_repo"), "--unsolved", "--lesson", "dl-basics/numpy-basics")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert ("02-numpy/numpy-basics.ipynb: cell 8 catches exercise:relu unsolved: "
            "AssertionError: relu should be a NumPy array") in out
    assert ("cell 11 catches exercise:softmax unsolved: AssertionError: each row of "
            "probabilities should sum to 1") in out


def test_a_check_that_misses_an_unsolved_exercise_or_a_missing_solution_fails(tmp_path,
                                                                            docker_engine):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "content_repo", repo)
    path = repo / "dl-basics/02-numpy/numpy-basics.ipynb"
    nb = nbformat.read(path, as_version=4)
    check = next(c for c in nb.cells if c.id == "numpy-check-softmax")
    check.source = "p = softmax(y)"  # a check that asserts nothing
    nbformat.write(nb, path)
    key = "dl-basics/numpy-basics"
    result = execute(str(repo), "--unsolved", "--lesson", key)
    assert result.returncode == 1
    assert ("numpy-basics.ipynb: cell 10 UncheckedExercise: exercise:softmax: the notebook runs "
            "to its end with this exercise unsolved") in result.stdout

    solutions = repo / "dl-basics/solutions/02-numpy/numpy-basics.py"
    solutions.write_text(solutions.read_text().replace("# %% exercise:relu", "# %% exercise:rel"))
    result = execute(str(repo), "--lesson", key)
    assert result.returncode == 1
    assert ("numpy-basics.ipynb: SolutionMismatch: solutions/02-numpy/numpy-basics.py: "
            "no solution for exercise:relu; no exercise cell for exercise:rel") in result.stdout
