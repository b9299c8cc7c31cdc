"""Bringing a lesson into the home folder never overwrites the learner's copy."""

from __future__ import annotations

import shutil

import pytest

from lms_extension.server.materialize import materialize

from ..hubctl import ROOT

COURSE = ROOT / "content_repo" / "dl-basics"


@pytest.fixture
def content(tmp_path):
    course = tmp_path / "content" / "dl-basics"
    shutil.copytree(COURSE, course)
    (course / "02-numpy" / "data.csv").write_text("a,b\n1,2\n")
    return course


def test_copies_lesson_folder_into_home(content, tmp_path):
    home = tmp_path / "home"
    result = materialize(content, "numpy-basics", home, "dl-basics")
    assert result.first_notebook == "dl-basics/02-numpy/numpy-basics.ipynb"
    assert sorted(result.copied) == [
        "dl-basics/02-numpy/data.csv",
        "dl-basics/02-numpy/numpy-basics.ipynb",
    ]
    assert (home / "dl-basics/02-numpy/numpy-basics.ipynb").read_bytes() == (
        content / "02-numpy/numpy-basics.ipynb"
    ).read_bytes()
    # only this lesson's files, and no temporary files left behind
    assert sorted(p.name for p in (home / "dl-basics").rglob("*") if p.is_file()) == [
        "data.csv",
        "numpy-basics.ipynb",
    ]


def test_learners_edit_is_kept(content, tmp_path):
    home = tmp_path / "home"
    materialize(content, "numpy-basics", home, "dl-basics")
    mine = home / "dl-basics/02-numpy/numpy-basics.ipynb"
    mine.write_text("my edits")
    (home / "dl-basics/02-numpy/data.csv").unlink()
    result = materialize(content, "numpy-basics", home, "dl-basics")
    assert mine.read_text() == "my edits"
    assert result.kept == ["dl-basics/02-numpy/numpy-basics.ipynb"]
    assert result.copied == ["dl-basics/02-numpy/data.csv"]


def test_unknown_lesson_is_named(content, tmp_path):
    with pytest.raises(LookupError, match="no lesson 'nope'"):
        materialize(content, "nope", tmp_path / "home", "dl-basics")
