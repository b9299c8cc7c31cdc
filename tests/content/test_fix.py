"""`lms-content fix`: an imported course (nbformat 4.4 and 3, no cell ids, stray properties,
outputs) validates after `fix` with no hand edit; `--check` reports without writing; notebooks
the course does not list are never touched."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .course_fixture import LMS_CONTENT
from .imported_course import sources, write_imported_course

LISTED = ["01-arrays/arrays.ipynb", "01-arrays/arrays-exercises.ipynb",
          "02-history/history.ipynb", "03-plots/plots.ipynb"]


def lms(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LMS_CONTENT, *args], capture_output=True, text=True)


def snapshot(course: Path) -> dict[str, bytes]:
    return {str(p.relative_to(course)): p.read_bytes() for p in sorted(course.rglob("*.ipynb"))}


def test_an_imported_course_validates_after_fix(tmp_path):
    course = write_imported_course(tmp_path / "imported")
    before = snapshot(course)
    old_sources = sources(course / "01-arrays/arrays.ipynb")

    result = lms("validate", str(course))
    assert result.returncode == 1
    assert ("01-arrays/arrays-exercises.ipynb:1: nbformat_minor: is 4; cell ids need nbformat "
            "4.5 or newer (lms-content fix upgrades it)") in result.stderr
    assert "02-history/history.ipynb:1: nbformat: is 3" in result.stderr

    result = lms("fix", str(course))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert ("fixed 01-arrays/arrays-exercises.ipynb: nbformat 4.4 to 4.5; dropped top-level "
            "worksheets; dropped cell properties language (1 cell), prompt_number (1 cell); "
            "added 3 cell ids; stripped outputs of 1 cell; cleared 1 execution count") in out
    assert "fixed 01-arrays/arrays.ipynb: nbformat 4.0 to 4.5; added metadata.kernelspec." in out
    assert "dropped cell properties execution_count (1 cell), outputs (1 cell), trusted" in out
    assert "fixed 02-history/history.ipynb: converted nbformat 3 to 4" in out
    assert ("fixed 03-plots/plots.ipynb: replaced 1 invalid or repeated cell id; stripped "
            "outputs of 1 cell") in out
    assert "4 lesson notebook(s) checked, 4 fixed, 0 cannot be fixed" in out

    result = lms("validate", str(course))
    assert result.returncode == 0, result.stderr
    assert "OK: 1 course(s), 3 lesson(s), 4 notebook(s)" in result.stdout
    # the pre-commit hook agrees, and a second fix has nothing left to do
    assert lms("strip", "--check", *(str(course / name) for name in LISTED)).returncode == 0
    again = lms("fix", str(course))
    assert again.returncode == 0 and "0 fixed" in again.stdout

    # what the editor wrote is kept: sources, cell types, order, metadata
    assert sources(course / "01-arrays/arrays.ipynb") == old_sources
    arrays = json.loads((course / "01-arrays/arrays.ipynb").read_text())
    assert arrays["metadata"]["colab"]["name"] == "arrays.ipynb"
    assert arrays["metadata"]["kernelspec"] == {"name": "python3", "display_name": "python3"}
    assert arrays["cells"][1]["metadata"]["colab"] == {"base_uri": "https://localhost:8080/"}
    assert sources(course / "02-history/history.ipynb") == [
        ("markdown", "# A short history"), ("markdown", "Run the cell below."),
        ("code", "print('1958: the perceptron')")]

    after = snapshot(course)
    assert after["scratch/scratch.ipynb"] == before["scratch/scratch.ipynb"]
    assert all(after[name] != before[name] for name in LISTED)
    assert (course / "01-arrays/arrays.ipynb").stat().st_mode & 0o777 == 0o644


def test_check_reports_every_change_and_writes_nothing(tmp_path):
    course = write_imported_course(tmp_path / "imported")
    before = snapshot(course)
    result = lms("fix", "--check", str(course))
    assert result.returncode == 1
    assert ("03-plots/plots.ipynb:1: notebook: needs lms-content fix: replaced 1 invalid or "
            "repeated cell id; stripped outputs of 1 cell; cleared 1 execution count; removed "
            "run metadata metadata.widgets") in result.stderr
    assert "4 lesson notebook(s) checked, 4 need fixing, 0 cannot be fixed" in result.stdout
    assert snapshot(course) == before
    assert sorted(p.name for p in (course / "01-arrays").iterdir()) == [
        "arrays-exercises.ipynb", "arrays.ipynb"]  # no temporary files left

    lms("fix", str(course))
    result = lms("fix", "--check", str(course))
    assert result.returncode == 0 and "0 need fixing" in result.stdout


def test_unreadable_and_unfixable_notebooks_are_named_and_left_alone(tmp_path):
    course = write_imported_course(tmp_path / "imported")
    broken = course / "01-arrays/arrays.ipynb"
    broken.write_text('{\n "cells": [\n  {"cell_type": "code",,}\n ]\n}\n')
    untyped = course / "03-plots/plots.ipynb"
    nb = json.loads(untyped.read_text())
    del nb["cells"][1]["cell_type"]
    untyped.write_text(json.dumps(nb))
    before = snapshot(course)

    result = lms("fix", str(course))
    assert result.returncode == 1
    assert ("01-arrays/arrays.ipynb:3: notebook: invalid JSON: Expecting property name "
            "enclosed in double quotes") in result.stderr
    assert ('03-plots/plots.ipynb:1: cells.1.cell_type: cell has no cell_type; add "cell_type": '
            '"code", "markdown" or "raw" by hand') in result.stderr
    assert "Traceback" not in result.stderr
    assert "4 lesson notebook(s) checked, 2 fixed, 2 cannot be fixed" in result.stdout
    after = snapshot(course)
    assert after["01-arrays/arrays.ipynb"] == before["01-arrays/arrays.ipynb"]
    assert after["03-plots/plots.ipynb"] == before["03-plots/plots.ipynb"]
    assert after["02-history/history.ipynb"] != before["02-history/history.ipynb"]


def test_fix_works_on_a_repo_of_courses_and_refuses_a_broken_manifest(tmp_path):
    write_imported_course(tmp_path / "repo" / "imported")
    other = write_imported_course(tmp_path / "repo" / "other")
    manifest = other / "course.yaml"
    manifest.write_text(manifest.read_text().replace("slug: imported", "slug: other"))
    result = lms("fix", str(tmp_path / "repo"))
    assert result.returncode == 0, result.stderr
    assert "fixed imported/01-arrays/arrays.ipynb" in result.stdout
    assert "fixed other/03-plots/plots.ipynb" in result.stdout
    assert lms("validate", str(tmp_path / "repo")).returncode == 0

    manifest.write_text(manifest.read_text().replace("title: An imported course\n", ""))
    before = snapshot(other)
    result = lms("fix", str(other))
    assert result.returncode == 1
    assert "course.yaml:1: title: Field required" in result.stderr
    assert snapshot(other) == before
