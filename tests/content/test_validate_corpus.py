"""Broken course repos: `lms-content validate` names file, line and field, exits 1, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from .course_fixture import LMS_CONTENT, write_course


def validate(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LMS_CONTENT, "validate", str(root)], capture_output=True, text=True)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1))


def _manifest(old, new):
    return lambda course: edit(course / "course.yaml", old, new)


def _notebook(change):
    def mutate(course):
        path = course / "01-one" / "one.ipynb"
        nb = json.loads(path.read_text())
        change(nb)
        path.write_text(json.dumps(nb, indent=1))
    return mutate


def _symlink_out(course):
    outside = course.parent.parent / "outside.ipynb"
    outside.write_text((course / "02-two" / "two.ipynb").read_text())
    os.symlink(outside, course / "02-two" / "link.ipynb")
    edit(course / "course.yaml", "[02-two/two.ipynb]", "[02-two/link.ipynb]")


def _link(name: str, target: str, replace: bool = False):
    def mutate(course):
        if replace:
            (course / name).unlink()
        os.symlink(target, course / name)
    return mutate


def _duplicate_course(course):
    other = course.parent / "copy"
    write_course(other)


CASES = {
    "bad YAML": (_manifest("lessons:\n", "lessons: [\n"),
                 "course-a/course.yaml:8: course: invalid YAML"),
    "YAML alias bomb": (lambda c: (c / "course.yaml").write_text(
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"),
                        "course-a/course.yaml:2: b.0: YAML aliases (*name) are not allowed"),
    "missing key": (_manifest("title: Course A\n", ""),
                    "course-a/course.yaml:1: title: Field required"),
    "mistyped key": (_manifest("title: Two", "titel: Two"),
                     "course-a/course.yaml:13: lessons.1.titel: Extra inputs are not permitted"),
    "wrong type": (_manifest("due: 7d", "due: [7d]"),
                   "course-a/course.yaml:11: lessons.0.due: Input should be a valid string"),
    "duplicate lesson slug": (_manifest("slug: two", "slug: one"),
                              "course-a/course.yaml:12: lessons.1.slug: 'one' is used twice"),
    "duplicate course slug": (_duplicate_course, "course-a/course.yaml:1: slug: course slug 'course-a' is also the slug of copy/"),
    "unknown environment": (_manifest("    environment: cpu", "    environment: gpu"),
                            "course-a/course.yaml:15: lessons.1.environment: 'gpu' is not one"),
    "unknown default environment": (_manifest("default_environment: cpu", "default_environment: x"),
                                    "course-a/course.yaml:5: default_environment: 'x' is not one"),
    "path leaving the course": (_manifest("[02-two/two.ipynb]", "[../../etc/x.ipynb]"),
                                "course-a/course.yaml:14: lessons.1.notebooks: Value error, "
                                "'../../etc/x.ipynb' leaves the course folder"),
    "absolute path": (_manifest("[02-two/two.ipynb]", "[/etc/x.ipynb]"),
                      "course-a/course.yaml:14: lessons.1.notebooks: Value error, "
                      "'/etc/x.ipynb' must be a relative path"),
    "symlink leaving the course": (_symlink_out,
                                   "course-a/02-two/link.ipynb:1: symlink: points to the absolute "
                                   "path "),
    "relative symlink leaving the repo": (
        _link("01-one/data.csv", "../../../outside.csv"),
        "course-a/01-one/data.csv:1: symlink: points to '../../../outside.csv', outside the "
        "content repo"),
    "symlink into the repo but out of the course": (
        _link("01-one/readme.md", "../../README.md"),
        "course-a/01-one/readme.md:1: symlink: points to '../../README.md', outside the course "
        "folder course-a"),
    "symlinked survey": (_link("surveys/feedback.yaml", "/etc/hostname", replace=True),
                         "course-a/surveys/feedback.yaml:1: symlink: points to the absolute "
                         "path '/etc/hostname'"),
    "symlinked manifest": (_link("course.yaml", "../../outside.yaml", replace=True),
                           "course-a/course.yaml:1: symlink: points to '../../outside.yaml', "
                           "outside the content repo"),
    "hidden symlink outside any course": (
        lambda c: os.symlink("../..", c.parent / ".cache"),
        ".cache:1: symlink: points to '../..', outside the content repo"),
    "symlink loop": (_link("01-one/loop", "loop"),
                     "course-a/01-one/loop:1: symlink: points to 'loop': a loop of links"),
    "link through a link out of the repo": (
        lambda c: (os.symlink(".", c / "01-one" / "here"),
                   os.symlink("here/here/here/../../..", c / "01-one" / "up")),
        "course-a/01-one/up:1: symlink: points to 'here/here/here/../../..', outside the "
        "content repo"),
    "control character in a file name": (
        lambda c: (c / "01-one" / "bad\nname.csv").write_text("x\n"),
        "course-a/01-one/bad\\x0aname.csv:1: path: the name holds a control character"),
    "name that is not UTF-8": (
        lambda c: (c / "01-one" / os.fsdecode(b"caf\xe9.csv")).write_text("x\n"),
        "course-a/01-one/caf\\udce9.csv:1: path: the name is not UTF-8"),
    "path too long": (
        lambda c: (c / "01-one" / ("d" * 120) / ("f" * 100)).mkdir(parents=True),
        f"course-a/01-one/{'d' * 120}/{'f' * 100}:1: path: is 228 characters long inside its "
        "folder; the limit is 200"),
    "notebook path too long": (_manifest("[02-two/two.ipynb]", f"[02-two/{'n' * 200}.ipynb]"),
                               "course-a/course.yaml:14: lessons.1.notebooks: Value error, "
                               "'02-two/nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn'… is 213 characters"),
    "NUL in a notebook path": (_manifest("[02-two/two.ipynb]", '["02-two/two\\0.ipynb"]'),
                               "course-a/course.yaml:14: lessons.1.notebooks: Value error, "
                               "'02-two/two\\x00.ipynb' holds a control character"),
    "deeply nested YAML": (_manifest("title: Course A\n",
                                     "title: Course A\ndescription: " + "[" * 30 + "]" * 30 + "\n"),
                           "course-a/course.yaml:3: description" + ".0" * 19 +
                           ": nested deeper than 20 levels"),
    "deeply nested YAML in a list": (
        _manifest("due: 7d", "due: " + "{a: " * 40 + "x" + "}" * 40),
        "course-a/course.yaml:11: lessons.0.due" + ".a" * 17 + ": nested deeper than 20 levels"),
    "deeply nested survey": (
        lambda c: edit(c / "surveys" / "feedback.yaml", "title: Feedback",
                       "title: Feedback\ndescription: " + "[" * 5000 + "]" * 5000),
        "course-a/surveys/feedback.yaml:2: description" + ".0" * 19 +
        ": nested deeper than 20 levels"),
    "deeply nested notebook": (_notebook(lambda nb: nb["metadata"].update(
        deep=json.loads('{"x": ' * 70 + "1" + "}" * 70))),
        "course-a/01-one/one.ipynb:1: metadata.deep.x.x.x.x: nested deeper than 64 levels"),
    "notebook nested past the JSON reader": (
        lambda c: (c / "01-one" / "one.ipynb").write_text("[" * 100_000 + "]" * 100_000),
        "course-a/01-one/one.ipynb:1: notebook: nested deeper than 64 levels"),
    "missing notebook": (_manifest("[02-two/two.ipynb]", "[02-two/gone.ipynb]"),
                         "course-a/course.yaml:14: lessons.1.notebooks.0: 02-two/gone.ipynb does not"),
    "not a notebook": (_manifest("[02-two/two.ipynb]", "[02-two/two.py]"),
                       "course-a/course.yaml:14: lessons.1.notebooks: Value error, '02-two/two.py' is"),
    "bad resource size": (_manifest('cpu: {image: "lms/scipy:latest"}',
                                    'cpu: {image: "lms/scipy:latest", resources: {memory: lots}}'),
                          "course-a/course.yaml:4: environments.cpu.resources.memory: Value error, "
                          "'lots' is not a size like 512M or 2G"),
    "bad due date": (_manifest("due: 7d", "due: next tuesday"),
                     "course-a/course.yaml:11: lessons.0.due: Value error, 'next tuesday' is neither"),
    "huge due offset": (_manifest("due: 7d", "due: 99999999d"),
                        "course-a/course.yaml:11: lessons.0.due: Value error, '99999999d' is more "
                        "than 3650 days (ten years) after the cohort's start"),
    "due offset past ten years in weeks": (_manifest("due: 7d", "due: 522w"),
                                           "course-a/course.yaml:11: lessons.0.due: Value error, "
                                           "'522w' is more than 3650 days"),
    "due offset past what a number holds": (_manifest("due: 7d", f"due: {'9' * 5000}h"),
                                            "course-a/course.yaml:11: lessons.0.due: Value error, "
                                            "'99999"),
    "due date too late": (_manifest("due: 7d", "due: '9999-12-31'"),
                          "course-a/course.yaml:11: lessons.0.due: Value error, '9999-12-31' is "
                          "not between 2000-01-01 and 2199-12-31"),
    "due date too early": (_manifest("due: 7d", "due: '0001-01-01'"),
                           "course-a/course.yaml:11: lessons.0.due: Value error, '0001-01-01' is "
                           "not between"),
    "unquoted date out of range": (_manifest("due: 7d", "due: 2999-03-01"),
                                   "course-a/course.yaml:11: lessons.0.due: Value error, "
                                   "'2999-03-01' is not between 2000-01-01 and 2199-12-31"),
    "impossible date": (_manifest("due: 7d", "due: 2024-02-30"),
                        "course-a/course.yaml:11: course: invalid YAML: '2024-02-30': day is out "
                        "of range for month"),
    "bad completion rule": (_manifest("due: 7d", "due: 7d\n    completion: auto"),
                            "course-a/course.yaml:12: lessons.0.completion.rule: Input should be"),
    "unknown survey": (_manifest("survey: feedback", "survey: nope"),
                       "course-a/course.yaml:6: survey: surveys/nope.yaml does not exist"),
    "unknown lesson survey": (_manifest("due: 7d", "due: 7d\n    survey: nope"),
                              "course-a/course.yaml:12: lessons.0.survey: surveys/nope.yaml does not"),
    "broken survey": (lambda c: edit(c / "surveys" / "feedback.yaml", "scale: 5", "scale: 30"),
                      "course-a/surveys/feedback.yaml:6: questions.0.scale: Input should be less"),
    "unknown question type": (lambda c: edit(c / "surveys" / "feedback.yaml", "type: rating",
                                             "type: slider"),
                              "course-a/surveys/feedback.yaml:3: questions.0: Input tag 'slider'"),
    "invalid notebook JSON": (lambda c: (c / "01-one" / "one.ipynb").write_text('{\n "cells": [\n  oops'),
                              "course-a/01-one/one.ipynb:3: notebook: invalid JSON"),
    "nbformat 3 notebook": (_notebook(lambda nb: nb.update(nbformat=3)),
                            "course-a/01-one/one.ipynb:1: nbformat: is 3; lesson notebooks must be"),
    "schema-invalid notebook": (_notebook(lambda nb: nb["cells"][1].update(source=42)),
                                "course-a/01-one/one.ipynb:12: cells.1.source: 42 is not valid under any"),
    "cell without id": (_notebook(lambda nb: nb["cells"][1].pop("id")),
                        "course-a/01-one/one.ipynb:12: cells.1.id: cell has no id"),
    "notebook with outputs": (
        _notebook(lambda nb: nb["cells"][1].update(
            outputs=[{"output_type": "stream", "name": "stdout", "text": "hi\n"}],
            execution_count=1)),
        "course-a/01-one/one.ipynb:12: cells.1.outputs: has outputs; strip them"),
    "oversized notebook": (_notebook(lambda nb: nb["cells"][0].update(source="x" * 2_100_000)),
                           "course-a/01-one/one.ipynb:1: notebook: file is 21"),
    "oversized manifest": (lambda c: (c / "course.yaml").write_text("# x\n" * 300_000),
                           "course-a/course.yaml:1: course: file is 1200000 bytes; the limit is"),
    "binary manifest": (lambda c: (c / "course.yaml").write_bytes(b"\xff\xfe\x00\x81garbage"),
                        "course-a/course.yaml:1: course: file is not UTF-8 text"),
    "manifest is a list": (lambda c: (c / "course.yaml").write_text("- a\n- b\n"),
                           "course-a/course.yaml:1: course: must be a mapping"),
    "empty manifest": (lambda c: (c / "course.yaml").write_text(""),
                       "course-a/course.yaml:1: course: must be a mapping"),
}


@pytest.mark.parametrize("mutate, expected", CASES.values(), ids=CASES.keys())
def test_broken_input_gets_its_line(tmp_path, mutate, expected):
    course = write_course(tmp_path / "repo" / "course-a")
    assert validate(tmp_path / "repo").returncode == 0
    mutate(course)
    result = validate(tmp_path / "repo")
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert any(line.startswith(expected) for line in lines), lines


def test_every_problem_is_listed_not_just_the_first(tmp_path):
    course = write_course(tmp_path / "course-a")
    edit(course / "course.yaml", "    environment: cpu", "    environment: gpu")
    edit(course / "course.yaml", "survey: feedback", "survey: nope")
    _notebook(lambda nb: nb["cells"][1].update(execution_count=3))(course)
    lines = validate(tmp_path).stderr.splitlines()
    assert sorted(line.split(": ")[0] for line in lines) == [
        "course-a/01-one/one.ipynb:12", "course-a/course.yaml:15", "course-a/course.yaml:6"], lines


def test_a_clean_course_gets_a_summary(tmp_path):
    write_course(tmp_path / "course-a")
    result = validate(tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.strip() == f"{tmp_path}: OK: 1 course(s), 2 lesson(s), 2 notebook(s)"
    nbformat.validate(nbformat.read(tmp_path / "course-a" / "01-one" / "one.ipynb", 4))
