"""The followers refuse the same commits as `lms-content validate`, with the same lines.

Both the hub and the LMS service read a commit through ``ContentMirror.sync`` (fetch from a real
git remote, export the commit's tree, validate). A bad commit raises ``ContentError`` whose lines
are the validator's lines for a checkout of that commit, prefixed with the commit; whatever else
goes wrong while reading a commit is a ``ContentError`` too, never another exception; and the
mirror takes the next good commit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lms_extension.content.errors import ContentError
from lms_extension.content.repo import ContentMirror

from .course_fixture import LMS_CONTENT, write_course

AUTHOR = ["-c", "user.name=Editor", "-c", "user.email=editor@localhost"]


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A work tree with course-a, its bare remote, and a function that commits and pushes."""
    remote, work = tmp_path / "content.git", tmp_path / "work"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(remote), cwd=tmp_path)
    write_course(work / "course-a")
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("remote", "add", "origin", str(remote), cwd=work)

    def commit(message: str) -> str:
        git("add", "--all", cwd=work)
        git(*AUTHOR, "commit", "--quiet", "-m", message, cwd=work)
        git("push", "--quiet", "--force", "origin", "HEAD:refs/heads/main", cwd=work)
        return git("rev-parse", "HEAD", cwd=work)

    return remote, work, commit


def manifest(work: Path, old: str, new: str) -> None:
    path = work / "course-a" / "course.yaml"
    path.write_text(path.read_text().replace(old, new, 1))


CASES = {
    "symlink out of the repo": lambda w: os.symlink("../../../etc/passwd",
                                                    w / "course-a" / "01-one" / "data.csv"),
    "absolute symlink": lambda w: os.symlink("/etc/passwd", w / "course-a" / "passwd"),
    "symlink out of the course": lambda w: (
        (w / "README.md").write_text("hello\n"),
        os.symlink("../../README.md", w / "course-a" / "01-one" / "readme.md")),
    "symlinked survey": lambda w: (
        (w / "course-a" / "surveys" / "feedback.yaml").unlink(),
        os.symlink("/etc/hostname", w / "course-a" / "surveys" / "feedback.yaml")),
    "deep nesting": lambda w: manifest(w, "title: Course A\n",
                                       "title: Course A\ndescription: " + "[" * 50 + "]" * 50
                                       + "\n"),
    "huge due offset": lambda w: manifest(w, "due: 7d", "due: 99999999d"),
    "date past the range": lambda w: manifest(w, "due: 7d", "due: 9999-12-31"),
}


@pytest.mark.parametrize("change", CASES.values(), ids=CASES.keys())
def test_a_bad_commit_is_refused_with_the_validators_lines(repo, tmp_path, change):
    remote, work, commit = repo
    good = commit("a good course")
    mirror = ContentMirror(str(remote), "HEAD", tmp_path / "cache", learner_repos=True)
    assert mirror.sync().sha == good
    change(work)
    bad = commit("a bad change")
    validated = subprocess.run([LMS_CONTENT, "validate", str(work)], capture_output=True,
                               text=True)
    assert validated.returncode == 1 and "Traceback" not in validated.stderr
    with pytest.raises(ContentError) as refused:
        mirror.sync()
    lines = [str(problem) for problem in refused.value.problems]
    assert lines == [f"{bad[:12]}:{line}" for line in validated.stderr.splitlines()], lines
    assert not (tmp_path / "cache" / "versions" / bad / "course-a" / "passwd").exists()

    git("rm", "-r", "--quiet", "--cached", ".", cwd=work)
    git("clean", "-fdxq", cwd=work)
    git("checkout", "--quiet", good, "--", ".", cwd=work)
    fixed = commit("back to good")
    assert mirror.sync().sha == fixed


class FailingMirror(ContentMirror):
    """A mirror whose export fails the way a full disk or a bug would."""

    def export(self, sha: str) -> Path:
        raise RuntimeError("no space left on the export's disk")


def test_anything_that_raises_while_reading_a_commit_is_a_refusal(repo, tmp_path):
    remote, _, commit = repo
    sha = commit("a good course")
    with pytest.raises(ContentError) as refused:
        FailingMirror(str(remote), "HEAD", tmp_path / "cache").sync()
    assert [str(p) for p in refused.value.problems] == [
        f"{sha[:12]}:1: content: cannot be read: RuntimeError: no space left on the export's disk"]
