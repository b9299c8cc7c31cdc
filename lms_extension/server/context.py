"""The lesson this server was started for, and bringing its course into the home folder: from
the course's learner repo with nbgitpuller, or, without one, by copying the lesson's files from
the read-only content folder."""

from __future__ import annotations

import logging
from pathlib import Path

from .materialize import materialize
from .pull import CoursePuller, PullError

log = logging.getLogger(__name__)


def bring_in(context: dict, root: Path, learner_repo: str, content_dir: str,
             log: logging.Logger = log) -> CoursePuller | None:
    """Bring the lesson's course into ``root`` and note what happened in ``context``
    (``materialized``, or ``error``: the server still starts and the learner sees the reason).
    Returns the puller that later content updates go through, if the course has a learner
    repo."""
    course, lesson = context["course"], context["lesson"]
    if course and learner_repo:
        puller = CoursePuller(learner_repo, root / course)
        try:
            context["materialized"] = {"from": "learner repo", "version": puller.bring_in()}
        except (PullError, OSError) as exc:
            context["error"] = f"could not bring course {course!r} into the home folder: {exc}"
            log.error("lms_extension: %s", context["error"])
            return None
        return puller
    if not (course and lesson and content_dir):
        return None
    try:
        result = materialize(Path(content_dir), lesson, root, course)
    except Exception as exc:  # noqa: BLE001 - the server must still start
        context["error"] = f"could not bring lesson {lesson!r} into the home folder: {exc}"
        log.error("lms_extension: %s", context["error"])
        return None
    context["materialized"] = {"copied": result.copied, "kept": result.kept,
                               "first_notebook": result.first_notebook}
    log.info("lms_extension: lesson %s/%s: %d file(s) copied, %d kept from the learner's home",
             course, lesson, len(result.copied), len(result.kept))
    return None
