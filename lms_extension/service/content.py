"""Following the content repo: each commit that validates becomes a content version, whose
catalog the service serves; a broken commit is refused and the previous version stays live."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_extension.content.cli import catalog_json
from lms_extension.content.errors import ContentError
from lms_extension.content.git import GitError
from lms_extension.content.redact import redact
from lms_extension.content.repo import ContentMirror
from lms_extension.content.survey import Survey

from .check_store import store_check_sets
from .content_history import record_refusal
from .db import ContentVersion


def _code_cell_ids(path: Path) -> list[str]:
    """The ids of a notebook's code cells that have source: the cells that count toward a
    lesson's completion."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    return [str(cell["id"]) for cell in cells
            if cell.get("cell_type") == "code" and cell.get("source") and cell.get("id")]


class CatalogIndex:
    """Look-ups into one content version's catalog JSON."""

    def __init__(self, sha: str, data: dict):
        self.sha = sha
        self.data = data
        self.courses = {c["slug"]: c for c in data.get("courses", [])}
        self._lessons = {
            (c["slug"], lesson["slug"]): {
                "rule": lesson["completion"]["rule"],
                "fraction": lesson["completion"]["fraction"],
                "checks": lesson["completion"].get("checks", False),
                "code_cells": lesson.get("code_cells", 0),
                # None (content versions published before ids were recorded): any id counts
                "code_cell_ids": (frozenset(lesson["code_cell_ids"])
                                  if "code_cell_ids" in lesson else None),
                "survey": lesson.get("survey"),
                "due": lesson.get("due"),
                "title": lesson["title"],
                "titles": lesson.get("titles") or {},
            }
            for c in data.get("courses", []) for lesson in c["lessons"]
        }

    @classmethod
    def empty(cls) -> CatalogIndex:
        return cls("", {"courses": []})

    def lesson(self, course: str, lesson: str) -> dict | None:
        return self._lessons.get((course, lesson))

    def lesson_slugs(self, course: str) -> list[str]:
        return [lesson["slug"] for lesson in self.courses[course]["lessons"]]

    def survey(self, course: str, lesson: str) -> Survey | None:
        info = self.lesson(course, lesson)
        if not info or not info["survey"]:
            return None
        return Survey.model_validate(self.courses[course]["surveys"][info["survey"]])


class ContentFollower:
    """Sync ``url``@``ref`` into the database; keep the live catalog and the last refusal."""

    def __init__(self, url: str, ref: str, cache_dir: str):
        self.url = url
        # the hub publishes the learner repos; the service only reads the catalog
        self.mirror = ContentMirror(url, ref, cache_dir, learner_repos=False) if url else None
        self.index = CatalogIndex.empty()
        self.last_error: list[str] = []

    def load_live(self, session: Session) -> None:
        row = session.scalars(
            select(ContentVersion).order_by(ContentVersion.published_at.desc()).limit(1)
        ).first()
        if row is not None:
            self.index = CatalogIndex(row.sha, row.catalog)

    def sync(self, session: Session, now: datetime) -> dict:
        """Fetch the repo; publish its newest commit if it validates. Blocking (git)."""
        if self.mirror is None:
            self.last_error = ["no content repo is configured (LmsService.content_repo)"]
            return self.status()
        version = None
        try:
            version = self.mirror.sync()
            if version.sha != self.index.sha:
                self._publish(session, version, now)
        except ContentError as exc:
            self._refused([str(p) for p in exc.problems])
            record_refusal(session, self.last_error, now)
        except GitError as exc:
            self._refused([str(exc)])
        except Exception as exc:  # whatever else a commit makes the reading do: refused too
            session.rollback()
            where = f"{version.sha[:12]}:1: content: " if version is not None else ""
            self._refused([f"{where}cannot be published: {type(exc).__name__}: {exc}"])
        else:
            self.last_error = []
        return self.status()

    def _publish(self, session: Session, version, now: datetime) -> None:
        """Record ``version`` (a :class:`~lms_extension.content.repo.ContentVersion` that
        validated) with the ids of its code cells, and make it the live one."""
        data = catalog_json(version.catalog)
        for course in data["courses"]:
            folder = version.path / course["folder"]
            for lesson in course["lessons"]:
                ids = [i for nb in lesson["notebooks"] for i in _code_cell_ids(folder / nb)]
                lesson["code_cell_ids"] = sorted(set(ids))
                lesson["code_cells"] = len(lesson["code_cell_ids"])
        row = session.get(ContentVersion, version.sha)
        store_check_sets(session, version.sha, version.catalog, data)  # keys: never in the catalog
        if row is None:
            session.add(ContentVersion(sha=version.sha, published_at=now, catalog=data))
        else:  # the repo went back to an earlier version: it is the live one again
            row.published_at = now
        index = CatalogIndex(version.sha, data)
        session.commit()
        self.index = index

    def _refused(self, lines: list[str]) -> None:
        """Keep the reasons a sync was refused, without the repo URL's credentials (they are
        served at ``api/content`` and logged)."""
        self.last_error = [redact(line, self.url) for line in lines]

    def status(self) -> dict:
        return {"version": self.index.sha or None, "refused": self.last_error}
