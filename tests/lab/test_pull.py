"""Learner repos and content updates in the learner's home, with real git and nbgitpuller:
first start, a home from before, and updates that meet the learner's own edits."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from lms_extension.content.learner_repo import publish_course, version_of
from lms_extension.server.pull import CoursePuller

COURSE = Path(__file__).resolve().parents[2] / "content_repo" / "dl-basics"
NB = "02-numpy/numpy-basics.ipynb"


@pytest.fixture(autouse=True)
def learner_home(tmp_path, monkeypatch):
    """The learner's own git config lives in their home, not the machine's."""
    home = tmp_path / "learner-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def course(tmp_path):
    """An editable copy of the demo course (what one content version exports)."""
    folder = tmp_path / "export" / "dl-basics"
    shutil.copytree(COURSE, folder)
    return folder


@pytest.fixture
def repos(tmp_path):
    return tmp_path / "learner"


def publish(repos: Path, course: Path, version: str) -> str:
    return publish_course(repos, "dl-basics", course, version)


def edit_cell(path: Path, index: int, source: str) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells[index].source = source
    nbformat.write(nb, path)


def test_a_version_commits_learner_files_only_and_once(repos, course):
    first = publish(repos, course, "v1")
    assert publish(repos, course, "v1-again") == first  # nothing changed, no commit
    git = ["git", "--git-dir", str(repos / "dl-basics.git")]
    files = subprocess.run([*git, "ls-tree", "-r", "--name-only", "main"], capture_output=True,
                           text=True, check=True).stdout.split()
    assert NB in files and "course.yaml" not in files
    assert not any(f.startswith("surveys/") for f in files)
    (course / "02-numpy" / "data.csv").write_text("x\n1\n")
    second = publish(repos, course, "v2")
    assert second != first
    message = subprocess.run([*git, "log", "-1", "--format=%B", "main"], capture_output=True,
                             text=True, check=True).stdout
    assert version_of(message) == "v2"


def test_first_start_clones_and_a_second_start_leaves_the_home_alone(repos, course, tmp_path):
    publish(repos, course, "v1")
    home = tmp_path / "home"
    puller = CoursePuller(str(repos / "dl-basics.git"), home / "dl-basics")
    assert puller.bring_in() == "v1"
    safe = subprocess.run(["git", "config", "--global", "--get-all", "safe.directory"],
                          capture_output=True, text=True).stdout.split()
    assert safe == [str(repos / "dl-basics.git")]  # once, however often it starts
    mine = home / "dl-basics" / NB
    edit_cell(mine, 1, "# my work")
    publish(repos, course, "v1")
    (course / "new.md").write_text("new\n")
    publish(repos, course, "v2")
    assert puller.bring_in() == "v1"  # a restart does not update behind the learner's back
    assert subprocess.run(["git", "config", "--global", "--get-all", "safe.directory"],
                          capture_output=True, text=True).stdout.split() == safe
    assert "# my work" in mine.read_text()
    info = puller.check(now=1e9)
    assert (info.available, info.current, info.latest, info.changed) == (True, "v1", "v2",
                                                                         ["new.md"])


def test_a_home_from_before_is_adopted_without_losing_files(repos, course, tmp_path):
    publish(repos, course, "v1")
    target = tmp_path / "home" / "dl-basics"
    (target / "02-numpy").mkdir(parents=True)
    shutil.copy(course / NB, target / NB)
    edit_cell(target / NB, 1, "# edited before git")
    (target / "notes.txt").write_text("mine")
    puller = CoursePuller(str(repos / "dl-basics.git"), target)
    assert puller.bring_in() == "v1"
    assert "# edited before git" in (target / NB).read_text()
    assert (target / "notes.txt").read_text() == "mine"
    assert (target / "01-python" / "python-basics.ipynb").is_file()  # missing files came


def test_an_update_merges_and_reports_files_both_sides_changed(repos, course, tmp_path):
    publish(repos, course, "v1")
    target = tmp_path / "home" / "dl-basics"
    puller = CoursePuller(str(repos / "dl-basics.git"), target)
    puller.bring_in()
    # the learner: edits the first cell of the numpy notebook, deletes the pandas one, and
    # makes a file whose name the course is about to use
    edit_cell(target / NB, 1, "# learner's answer")
    (target / "03-pandas" / "pandas-exploration.ipynb").unlink()
    (target / "02-numpy" / "extra.py").write_text("print('mine')\n")
    # the course: changes the last cell of the same notebook, adds extra.py, fixes pandas
    nb = nbformat.read(course / NB, as_version=4)
    last = len(nb.cells) - 1
    edit_cell(course / NB, last, "# course fix")
    (course / "02-numpy" / "extra.py").write_text("print('course')\n")
    publish(repos, course, "v2")

    report = puller.update()

    assert (report.from_version, report.to_version, report.error) == ("v1", "v2", "")
    assert sorted(report.updated) == ["02-numpy/extra.py", NB]
    (conflict,) = report.conflicts
    assert conflict["path"] == NB and "__mine_" in conflict["kept_as"]
    merged = nbformat.read(target / NB, as_version=4)
    assert merged.cells[1].source == "# learner's answer"  # the learner's edit stays
    assert merged.cells[last].source == "# course fix"  # the course's change arrives
    kept = nbformat.read(target / conflict["kept_as"], as_version=4)
    assert kept.cells[1].source == "# learner's answer" and kept.cells[last].source != "# course fix"
    # the deleted notebook came back; the learner's extra.py moved aside for the course's
    assert (target / "03-pandas" / "pandas-exploration.ipynb").is_file()
    assert (target / "02-numpy" / "extra.py").read_text() == "print('course')\n"
    moved = [p for p in (target / "02-numpy").glob("extra__*.py")]
    assert [p.read_text() for p in moved] == ["print('mine')\n"]
    assert puller.check(now=2e9).available is False


def test_a_line_merge_that_breaks_a_notebook_keeps_the_learners_copy(repos, course, tmp_path):
    publish(repos, course, "v1")
    target = tmp_path / "home" / "dl-basics"
    puller = CoursePuller(str(repos / "dl-basics.git"), target)
    puller.bring_in()
    # the learner and the course both rewrite the whole file: the learner adds a cell at the
    # end, the course replaces the notebook with one of different structure
    nb = nbformat.read(target / NB, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("learner = 1", id="learner-cell"))
    nbformat.write(nb, target / NB)
    upstream = json.loads((course / NB).read_text())
    upstream["cells"] = upstream["cells"][:1]
    upstream["metadata"]["lms"] = {"rewritten": True}
    (course / NB).write_text(json.dumps(upstream))  # one line: every hunk conflicts
    publish(repos, course, "v2")

    report = puller.update()

    (conflict,) = report.conflicts
    result = nbformat.read(target / NB, as_version=4)
    nbformat.validate(result)
    assert any(c.source == "learner = 1" for c in result.cells)
    assert (target / conflict["kept_as"]).is_file()
