"""Course search: lesson titles and the text of every lesson notebook (markdown and code cells)
of the live content version, searched at ``GET api/search?q=…``.

The index is built in a thread from the exported content version each time a version goes
live (:meth:`CourseSearch.refresh`, called after every content sync); the previous index
answers until the new one is ready.

Matching: the query is case-folded and split on white space; a hit is one text (a lesson's
title, or one cell) that holds every word. A word matches where it starts a word of the text
(token prefix) or, ranked lower, anywhere inside a word (substring: Korean often joins words,
e.g. 자동미분 holds 미분); the words together as written rank higher still. Title hits come
first, then markdown, then code; ties go by the lesson's place in the course and the cell's
place in the notebook.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from tornado import web

from .auth import ApiHandler

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 200
MAX_TERMS = 10
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SNIPPET_BEFORE = 50
SNIPPET_CHARS = 160
KIND_WEIGHT = {"title": 1000, "markdown": 20, "code": 10}
PREFIX_WEIGHT, SUBSTRING_WEIGHT, PHRASE_WEIGHT = 5, 1, 10


class SearchInputError(ValueError):
    """A search parameter that cannot be used; ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def read_query(q: str | None, course: str | None = None, limit: str | None = None,
               courses=()) -> tuple[str, str | None, int]:
    """Check the parameters of a search: ``(query, course or None, limit)``, or raise
    :class:`SearchInputError` naming the parameter."""
    q = (q or "").strip()
    if not q:
        raise SearchInputError("q", "enter something to search for")
    if len(q) > MAX_QUERY_CHARS:
        raise SearchInputError("q", f"{len(q)} characters; at most {MAX_QUERY_CHARS}")
    if course and course not in courses:
        raise SearchInputError("course", f"no course {course!r} in the live content")
    if limit in (None, ""):
        number = DEFAULT_LIMIT
    else:
        try:
            number = int(limit)
        except ValueError:
            raise SearchInputError("limit", "must be a whole number") from None
        if not 1 <= number <= MAX_LIMIT:
            raise SearchInputError("limit", f"must be from 1 to {MAX_LIMIT}")
    return q, course or None, number


def _text(value) -> str:
    """Titles (``{text: …}``, in order) or a cell source (a string or lines)."""
    if isinstance(value, dict):
        return " / ".join(str(v) for v in value if v)
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Entry:
    """One searchable text: a lesson's title, or one markdown or code cell of its notebooks."""

    course: str
    lesson: str
    title: str  # the lesson's title (in the course's default language)
    titles: dict  # the title per language, when the course gives more than one
    notebook: str  # relative to the course folder (the title's: the lesson's first notebook)
    cell: int | None
    cell_id: str | None
    kind: str  # title, markdown, code
    text: str  # white space collapsed
    folded: str  # ``text`` case-folded
    order: int  # the lesson's place in the content version


def _entry(lesson_info: tuple, kind: str, raw: str, notebook: str, cell: int | None = None,
           cell_id: str | None = None) -> Entry | None:
    text = " ".join(raw.split())
    if not text:
        return None
    course, lesson, title, titles, order = lesson_info
    return Entry(course, lesson, title, titles, notebook, cell, cell_id, kind, text,
                 text.casefold(), order)


def _notebook_entries(lesson_info: tuple, notebook: str, path: Path) -> list[Entry]:
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("search: %s is left out: %s", path, exc)
        return []
    entries = []
    for number, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("markdown", "code"):
            continue
        entry = _entry(lesson_info, cell["cell_type"], _text(cell.get("source")), notebook,
                       number, str(cell["id"]) if cell.get("id") else None)
        if entry is not None:
            entries.append(entry)
    return entries


class SearchIndex:
    """The searchable texts of one content version, grouped by lesson."""

    def __init__(self, sha: str, lessons: list[list[Entry]]):
        self.sha = sha
        self.lessons = [entries for entries in lessons if entries]
        # every text of a lesson in one string, to pass over lessons that cannot match
        self._joined = ["\n".join(e.folded for e in entries) for entries in self.lessons]
        self.size = sum(len(entries) for entries in self.lessons)

    @classmethod
    def empty(cls) -> SearchIndex:
        return cls("", [])

    @classmethod
    def build(cls, sha: str, catalog: dict, root: Path | None) -> SearchIndex:
        """Read the titles of the catalog's lessons and, under ``root`` (the exported content
        version), their notebooks. Blocking: run it in a thread."""
        lessons, order = [], 0
        for course in catalog.get("courses", []):
            folder = root / course.get("folder", course["slug"]) if root else None
            for lesson in course["lessons"]:
                title, titles = lesson["title"], lesson.get("titles") or {}
                if isinstance(title, dict):  # a catalog that keeps the languages in title
                    title, titles = next(iter(title.values()), ""), title
                info = (course["slug"], lesson["slug"], title, titles, order)
                order += 1
                notebooks = lesson.get("notebooks") or [""]
                every_title = _text(dict.fromkeys([title, *titles.values()]))
                entries = [e for e in [_entry(info, "title", every_title, notebooks[0])] if e]
                if folder is not None:
                    for notebook in lesson.get("notebooks", []):
                        entries += _notebook_entries(info, notebook, folder / notebook)
                lessons.append(entries)
        return cls(sha, lessons)

    def search(self, query: str, course: str | None = None,
               limit: int = DEFAULT_LIMIT) -> list[dict]:
        """The best ``limit`` hits of ``query`` (see the module's doc for the rules)."""
        terms = list(dict.fromkeys(query.casefold().split()))[:MAX_TERMS]
        if not terms:
            return []
        phrase = " ".join(query.casefold().split()) if len(terms) > 1 else None
        scored = []
        for entries, joined in zip(self.lessons, self._joined):
            if course is not None and entries[0].course != course:
                continue
            if not all(t in joined for t in terms):
                continue
            for entry in entries:
                folded = entry.folded
                if not all(t in folded for t in terms):
                    continue
                score = KIND_WEIGHT[entry.kind] + sum(
                    PREFIX_WEIGHT if starts_word(folded, t) else SUBSTRING_WEIGHT for t in terms)
                if phrase is not None and phrase in folded:
                    score += PHRASE_WEIGHT
                scored.append((-score, entry.order, entry.cell if entry.cell is not None else -1,
                               entry))
        best = heapq.nsmallest(limit, scored, key=lambda hit: hit[:3])
        return [self._hit(entry, terms[0]) for *_, entry in best]

    @staticmethod
    def _hit(entry: Entry, term: str) -> dict:
        snippet, highlight = snippet_of(entry, term)
        return {"key": f"{entry.course}/{entry.lesson}", "course": entry.course,
                "lesson": entry.lesson, "title": entry.title, "titles": entry.titles,
                "notebook": entry.notebook,
                "cell": entry.cell, "cell_id": entry.cell_id, "kind": entry.kind,
                "snippet": snippet, "highlight": highlight}


def starts_word(text: str, term: str) -> bool:
    """Whether ``term`` occurs in ``text`` at the start of a word (not after a letter, digit
    or underscore)."""
    at = text.find(term)
    while at != -1:
        if at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_"):
            return True
        at = text.find(term, at + 1)
    return False


def snippet_of(entry: Entry, term: str) -> tuple[str, list[int]]:
    """A short piece of the text around the first match of ``term``, and where the match is in
    it (``[start, end]``)."""
    text = entry.text
    if len(entry.folded) == len(text):
        at = entry.folded.find(term)
        length = len(term)
    else:  # case folding changed the length (e.g. ß → ss): find it without folding
        found = re.search(re.escape(term), text, re.IGNORECASE)
        at, length = (found.start(), found.end() - found.start()) if found else (-1, 0)
    if at < 0:
        return text[:SNIPPET_CHARS] + ("…" if len(text) > SNIPPET_CHARS else ""), []
    start = max(0, at - SNIPPET_BEFORE)
    if start:
        space = text.find(" ", start, at)
        start = space + 1 if space != -1 else start
    end = min(len(text), max(at + length, start + SNIPPET_CHARS))
    if end < len(text):
        space = text.rfind(" ", at + length, end)
        end = space if space != -1 else end
    prefix = "…" if start else ""
    piece = prefix + text[start:end] + ("…" if end < len(text) else "")
    offset = len(prefix) + at - start
    return piece, [offset, offset + length]


class CourseSearch:
    """The service's search index: rebuilt off the event loop when the live content version
    changes; the previous index answers until the new one is ready."""

    def __init__(self, service):
        self.service = service
        self.index = SearchIndex.empty()
        self._building: asyncio.Task | None = None

    def refresh(self) -> asyncio.Task | None:
        """Start a rebuild if the live version is not the indexed one (one build at a time;
        a build that ends behind the live version goes again)."""
        if self._building is None and self.service.content.index.sha != self.index.sha:
            self._building = asyncio.ensure_future(self._rebuild())
        return self._building

    async def ready(self) -> SearchIndex:
        """The index of the live version, once built."""
        task = self.refresh()
        if task is not None:
            await asyncio.shield(task)
        return self.index

    async def _rebuild(self) -> None:
        content = self.service.content
        loop = asyncio.get_running_loop()
        try:
            while content.index.sha != self.index.sha:
                live = content.index
                index = await loop.run_in_executor(None, self._build, live.sha, live.data)
                self.index = index
                self.service.log.info("search index of content version %s: %d texts",
                                      live.sha[:12], index.size)
        except Exception:
            self.service.log.exception("the search index was not rebuilt")
        finally:
            self._building = None

    def _build(self, sha: str, data: dict) -> SearchIndex:
        mirror = self.service.content.mirror
        root = None
        if mirror is not None and sha:
            root = mirror.versions_dir / sha
            if not root.is_dir():  # a version published before a restart with a new cache
                try:
                    root = mirror.export(sha)
                except Exception as exc:
                    log.warning("search: content version %s cannot be read, titles only: %s",
                                sha[:12], exc)
                    root = None
        return SearchIndex.build(sha, data, root)


class SearchHandler(ApiHandler):
    """``GET api/search?q=…[&course=…][&limit=…]``: any user of the service."""

    async def get(self):
        search = self.service.search
        try:
            q, course, limit = read_query(
                self.get_argument("q", None), self.get_argument("course", None),
                self.get_argument("limit", None), self.service.content.index.courses)
        except SearchInputError as exc:
            error = web.HTTPError(400, str(exc))
            error.field = exc.field  # in the answer beside the message
            raise error from None
        index = search.index
        self.send({"version": index.sha or None, "query": q,
                   "results": index.search(q, course, limit)})
