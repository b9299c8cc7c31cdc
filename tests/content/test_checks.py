"""Knowledge checks in the course format: checks/<lesson>.yaml, grading, `lms-content validate`'s
lines for a bad file, and that neither the learner repo nor the catalog carries the keys."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lms_extension.content.catalog import load_catalog
from lms_extension.content.checks import CheckSet
from lms_extension.content.cli import catalog_json
from lms_extension.content.learner_repo import publish_course

from .course_fixture import LMS_CONTENT, write_course

ROOT = Path(__file__).resolve().parents[2]

CHECKS = """\
title: {en: Lesson one check, ko: 레슨 1 확인}
pass_mark: 0.75
questions:
  - id: pick
    type: single
    text: {en: "Pick one", ko: "하나 고르세요"}
    options: [red, {en: green, ko: 초록}, blue]
    answer: green
  - id: many
    type: multiple
    text: Pick the primes
    options: ["2", "3", "4"]
    answer: ["2", "3"]
  - id: number
    type: numeric
    text: What is pi?
    answer: 3.14159
    tolerance: 0.01
  - id: word
    type: text
    text: Name the keyword
    answer: [Lambda Function, def]
"""


def validate(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LMS_CONTENT, "validate", str(root)], capture_output=True, text=True)


def course_with_checks(tmp_path: Path, checks: str = CHECKS, name: str = "one") -> Path:
    folder = write_course(tmp_path / "course")
    (folder / "checks").mkdir()
    (folder / "checks" / f"{name}.yaml").write_text(checks)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1))


def test_a_course_with_checks_validates_and_the_catalog_holds_no_key(tmp_path):
    folder = course_with_checks(tmp_path)
    result = validate(folder)
    assert result.returncode == 0, result.stderr
    catalog = load_catalog(folder)
    checks = catalog.checks["course-a"]["one"]
    assert checks.title == "Lesson one check" and checks.titles["ko"] == "레슨 1 확인"
    assert checks.questions[0].labels[1] == {"en": "green", "ko": "초록"}
    text = json.dumps(catalog_json(catalog))
    assert "3.14159" not in text and "Lambda Function" not in text and '"answer"' not in text


def test_the_public_questions_carry_no_key(tmp_path):
    checks = load_catalog(course_with_checks(tmp_path)).checks["course-a"]["one"]
    public = json.dumps(checks.public())
    assert "answer" not in public and "tolerance" not in public and "3.14159" not in public
    assert [q["type"] for q in checks.public()["questions"]] == [
        "single", "multiple", "numeric", "text"]


def test_grading_each_kind(tmp_path):
    checks = load_catalog(course_with_checks(tmp_path)).checks["course-a"]["one"]

    def grade(**answers):
        return checks.grade(checks.check_answers(answers))

    assert grade(pick="green", many=["3", "2"], number=3.15, word="  DEF ") == {
        "pick": True, "many": True, "number": True, "word": True}
    assert grade(pick="red", many=["2"], number=3.16, word="de f") == {
        "pick": False, "many": False, "number": False, "word": True}
    # case and every space ignored; the tolerance is inclusive; a number may come as text
    assert grade(word="lambdafunction", number="3.13159")["word"] is True
    assert grade(number="3.13159")["number"] is True
    assert grade(number=3.13)["number"] is False
    assert grade(many=["2", "3", "4"])["many"] is False
    assert grade() == dict.fromkeys(["pick", "many", "number", "word"], False)
    # 3 of 4 right passes a pass mark of 0.75; 2 of 4 does not
    assert checks.passes({"pick": True, "many": True, "number": True, "word": False})
    assert not checks.passes({"pick": True, "many": True, "number": False, "word": False})


@pytest.mark.parametrize("answers, message", [
    ({"pick": "purple"}, "answers.pick: 'purple' is not one of the options"),
    ({"many": "2"}, "answers.many: must be a list of options"),
    ({"number": "three"}, "answers.number: must be a number"),
    ({"number": True}, "answers.number: must be a number"),
    ({"word": 5}, "answers.word: must be text"),
    ({"nope": 1}, "answers.nope: no such question"),
])
def test_bad_answers_name_the_question(tmp_path, answers, message):
    checks = load_catalog(course_with_checks(tmp_path)).checks["course-a"]["one"]
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        checks.check_answers(answers)


@pytest.mark.parametrize("old, new, line, field, message", [
    ("    answer: green", "    answer: purple", 8, "questions.0.answer",
     "'purple' is not one of the options ('red', 'green', 'blue')"),
    ('    answer: ["2", "3"]', '    answer: ["2", "5"]', 13, "questions.1.answer",
     "'5' is not one of the options"),
    ("    tolerance: 0.01", "    tolerance: -0.5", 18, "questions.2.tolerance",
     "-0.5 is below 0"),
    ("    answer: 3.14159", "    answer: pi", 17, "questions.2.answer",
     "Input should be a valid number"),
    ("    answer: [Lambda Function, def]", "    answer: ['  ']", 22, "questions.3.answer",
     "an accepted answer is empty"),
    ("    type: numeric", "    type: essay", 14, "questions.2",
     "'single', 'multiple', 'numeric', 'text'"),
    ("  - id: word", "  - id: pick", 1, "checks", "question id 'pick' is used twice"),
    ("pass_mark: 0.75", "pass_mark: 0", 2, "pass_mark", "greater than 0"),
    ("    options: [red, {en: green, ko: 초록}, blue]", "    options: [red, green, red]", 7,
     "questions.0.options", "options must be distinct"),
])
def test_a_bad_checks_file_gets_a_file_line_field_message(tmp_path, old, new, line, field,
                                                         message):
    folder = course_with_checks(tmp_path)
    edit(folder / "checks" / "one.yaml", old, new)
    result = validate(folder)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert any(x.startswith(f"checks/one.yaml:{line}: {field}: ") and message in x
               for x in lines), lines


def test_a_checks_file_for_no_lesson_is_refused(tmp_path):
    folder = course_with_checks(tmp_path, name="three")
    result = validate(folder)
    assert result.returncode == 1
    assert "checks/three.yaml:1: checks: course 'course-a' has no lesson 'three'" in result.stderr


def test_a_completion_rule_that_needs_checks_needs_a_checks_file(tmp_path):
    folder = course_with_checks(tmp_path)
    edit(folder / "course.yaml", "    environment: cpu\n",
         "    environment: cpu\n    completion: checks\n")
    result = validate(folder)
    assert result.returncode == 1
    assert ("course.yaml:16: lessons.1.completion: needs checks/two.yaml, which does not exist"
            in result.stderr), result.stderr
    (folder / "checks" / "two.yaml").write_text(CHECKS)
    assert validate(folder).returncode == 0
    course = load_catalog(folder).courses["course-a"]
    assert course.lesson("two").completion.rule == "checks"


def test_checks_true_goes_with_executed_not_manual(tmp_path):
    folder = course_with_checks(tmp_path)
    edit(folder / "course.yaml", "    due: 7d\n",
         "    due: 7d\n    completion: {rule: executed, checks: true}\n")
    assert validate(folder).returncode == 0
    assert load_catalog(folder).courses["course-a"].lesson("one").completion.checks is True
    edit(folder / "course.yaml", "rule: executed", "rule: manual")
    result = validate(folder)
    assert result.returncode == 1
    assert ("course.yaml:12: lessons.0.completion: checks: true goes with rule executed"
            in result.stderr), result.stderr


def test_the_learner_repo_leaves_the_checks_out(tmp_path):
    folder = course_with_checks(tmp_path)
    commit = publish_course(tmp_path / "learner", "course-a", folder, "v1")
    files = subprocess.run(["git", "--git-dir", str(tmp_path / "learner" / "course-a.git"),
                            "ls-tree", "-r", "--name-only", commit],
                           capture_output=True, text=True, check=True).stdout.split()
    assert "01-one/one.ipynb" in files
    assert not any(f.startswith("checks") for f in files), files


def test_the_demo_course_has_a_knowledge_check():
    catalog = load_catalog(ROOT / "content_repo")
    checks = catalog.checks["dl-basics"]["python-basics"]
    assert checks.questions
    # the model read from its own JSON (as the service stores it) is the same
    assert CheckSet.model_validate(checks.model_dump(mode="json")) == checks
