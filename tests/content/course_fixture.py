"""A small valid course written from scratch, for tests that break or extend it."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

LMS_CONTENT = str(Path(sys.executable).with_name("lms-content"))

MANIFEST = """\
slug: course-a
title: Course A
environments:
  cpu: {image: "lms/scipy:latest"}
default_environment: cpu
survey: feedback
lessons:
  - slug: one
    title: One
    notebooks: [01-one/one.ipynb]
    due: 7d
  - slug: two
    title: Two
    notebooks: [02-two/two.ipynb]
    environment: cpu
"""

SURVEY = """\
title: Feedback
questions:
  - id: rating
    type: rating
    text: How was it?
    scale: 5
    required: true
  - id: words
    type: text
    text: Anything else?
"""


def notebook(*sources: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A lesson")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nbformat.writes(nb) + "\n"


def write_course(folder: Path, one: tuple[str, ...] = ("x = 1",),
                 two: tuple[str, ...] = ("y = 2",)) -> Path:
    """Write course-a into ``folder``: two lessons, one survey; return ``folder``."""
    (folder / "surveys").mkdir(parents=True)
    (folder / "course.yaml").write_text(MANIFEST)
    (folder / "surveys" / "feedback.yaml").write_text(SURVEY)
    for name, sources in (("01-one/one.ipynb", one), ("02-two/two.ipynb", two)):
        (folder / name).parent.mkdir()
        (folder / name).write_text(notebook(*sources))
    return folder
