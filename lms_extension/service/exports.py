"""CSV exports of the dashboard: a course's progress and a lesson's survey answers.

Every cell is text that learners (their user names, their answers) or editors (titles) chose.
A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula, so such a cell is written with a leading ``'`` (OWASP's advice for CSV
injection), which spreadsheets show as text.
"""

from __future__ import annotations

import csv
import io

from .progress import as_utc

# the ASCII formula triggers and their full-width forms, which some spreadsheets also accept
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value) -> str:
    """``value`` as a CSV cell that no spreadsheet runs as a formula."""
    if value is None:
        return ""
    text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def write_csv(rows) -> str:
    """Rows of values as CSV text, every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()


def progress_csv(data: dict) -> str:
    """A course's progress (``reports.course_progress``): a row per learner, with their
    cohorts and a status per lesson."""
    rows = [["learner", "cohorts", *data["lessons"]]]
    for user, row in data["learners"].items():
        rows.append([user, " ".join(data["cohorts"].get(user, [])),
                     *(data["legend"][code] for code in row)])
    return write_csv(rows)


def survey_csv(survey, responses, cohorts: dict[str, set[str]]) -> str:
    """A lesson's survey answers (``reports.survey_responses``): a row per learner, a column
    per question (several choices joined with '; ')."""
    questions = survey.questions
    rows = [["learner", "cohorts", "updated", *(q.id for q in questions)]]
    for response in responses:
        rows.append([response.user, " ".join(sorted(cohorts.get(response.user, ()))),
                     as_utc(response.updated_at),
                     *(response.answers.get(q.id) for q in questions)])
    return write_csv(rows)
