"""Filters of a course's progress matrix (the course page and its CSV export): ``cohort``,
``status`` (learners with a lesson in that status), ``delayed`` (``1``: delayed learners only)
and ``q`` (a part of the learner's name). They are query parameters, judged on the server, and
kept in the page's links."""

from __future__ import annotations

from urllib.parse import urlencode

from .fields import FieldError

STATUSES = ("not_started", "in_progress", "completed", "delayed")
MAX_QUERY = 100


def read_filters(handler, data: dict) -> dict:
    """The filters of the request; a 400 naming the parameter for a value that cannot be."""
    cohort = handler.get_query_argument("cohort", "").strip()
    status = handler.get_query_argument("status", "").strip()
    delayed = handler.get_query_argument("delayed", "").strip()
    query = handler.get_query_argument("q", "").strip()
    cohorts = sorted({c for groups in data["cohorts"].values() for c in groups})
    if cohort and cohort not in cohorts:
        raise FieldError("cohort", "'{value}' is not a cohort of this course that you see",
                         value=cohort)
    if status and status not in STATUSES:
        raise FieldError("status", "'{value}' is not one of {choices}", value=status,
                         choices=", ".join(STATUSES))
    if delayed not in ("", "0", "1"):
        raise FieldError("delayed", "must be 1 or 0")
    if len(query) > MAX_QUERY:
        raise FieldError("q", "at most {count} characters", count=MAX_QUERY)
    return {"cohort": cohort, "status": status, "delayed": delayed == "1", "q": query,
            "cohorts": cohorts}


def apply_filters(data: dict, filters: dict) -> dict:
    """``data`` (``reports.course_progress``) with only the learners the filters keep."""
    code = {status: letter for letter, status in data["legend"].items()}
    want = code.get(filters["status"]) if filters["status"] else None
    query = filters["q"].casefold()

    def keep(user: str, row: str) -> bool:
        if filters["cohort"] and filters["cohort"] not in data["cohorts"].get(user, ()):
            return False
        if want is not None and want not in row:
            return False
        if filters["delayed"] and code["delayed"] not in row:
            return False
        return not query or query in user.casefold()

    learners = {u: row for u, row in data["learners"].items() if keep(u, row)}
    return {**data, "learners": learners,
            "delayed": [u for u in data["delayed"] if u in learners]}


def filter_query(filters: dict) -> str:
    """The filters as a query string ending in ``&`` (empty without filters), for links."""
    params = {k: v for k, v in (("cohort", filters["cohort"]), ("status", filters["status"]),
                                ("delayed", "1" if filters["delayed"] else ""),
                                ("q", filters["q"])) if v}
    return urlencode(params) + "&" if params else ""
