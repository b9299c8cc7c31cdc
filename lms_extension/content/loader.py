"""Read one ``course.yaml`` into a :class:`~.model.Course`, reporting problems by file and line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import ContentError, Problem
from .model import Course
from .notebooks import check_notebook
from .survey import Survey

M = TypeVar("M", bound=BaseModel)

MAX_MANIFEST_BYTES = 1_000_000
# the deepest nesting of mappings and lists in a YAML file (course.yaml needs five)
MAX_YAML_DEPTH = 20
UNION_TAGS = frozenset({"rating", "single", "multiple", "text", "numeric"})


def _line_of(node: yaml.Node | None, loc: tuple) -> int:
    """The 1-based line of the deepest YAML node on the path ``loc``."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if child is None:
                # an unknown key: point at the key itself
                child = next((k for k, _ in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _clean_loc(loc: tuple) -> tuple:
    """Drop the union-tag parts pydantic puts after a list index (``questions.0.rating.scale``)."""
    return tuple(
        part for i, part in enumerate(loc)
        if not (i and isinstance(loc[i - 1], int) and part in UNION_TAGS)
    )


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _field(loc: tuple, what: str = "course") -> str:
    return ".".join(str(part) for part in loc) or what


def _shape_problem(text: str) -> tuple[int, str, str] | None:
    """The first alias, or the first collection nested deeper than :data:`MAX_YAML_DEPTH`, in
    ``text`` as ``(line, field, message)``. Reads the parser's event stream, which does not
    recurse, so that no input can exhaust the stack of the composer or of the models."""
    # one frame per open collection: [is_mapping, key or index, expecting a key]
    frames: list[list] = []

    def field() -> str:
        return ".".join(str(f[1]) for f in frames if f[1] is not None)

    def value_done() -> None:
        if frames:
            frame = frames[-1]
            if frame[0]:
                frame[2] = True
            else:
                frame[1] += 1

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):  # anchors and aliases can expand a small file
            return line, field(), "YAML aliases (*name) are not allowed"
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if frames and frames[-1][0] and frames[-1][2]:
                return line, field(), "a mapping key must be plain text"
            if len(frames) >= MAX_YAML_DEPTH:
                return line, field(), f"nested deeper than {MAX_YAML_DEPTH} levels"
            mapping = isinstance(event, yaml.MappingStartEvent)
            frames.append([mapping, None if mapping else 0, True])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frames.pop()
            value_done()
        elif isinstance(event, yaml.ScalarEvent):
            if frames and frames[-1][0] and frames[-1][2]:
                frames[-1][1], frames[-1][2] = event.value, False
            else:
                value_done()
    return None


def _construct(node: yaml.Node | None) -> object:
    """The Python data of a composed document; a scalar that cannot be built (``2024-02-30``,
    ``!!int 0b2``) is a :class:`yaml.MarkedYAMLError` at its line."""
    if node is None:
        return None
    try:
        return yaml.SafeLoader("").construct_document(node)
    except (ValueError, TypeError, OverflowError) as exc:
        stack = [node]
        while stack:  # find the scalar at fault, without recursion
            current = stack.pop()
            if isinstance(current, yaml.ScalarNode):
                try:
                    yaml.SafeLoader("").construct_object(current)
                except (ValueError, TypeError, OverflowError):
                    raise yaml.MarkedYAMLError(problem=f"{current.value!r}: {exc}",
                                               problem_mark=current.start_mark) from None
            elif isinstance(current, yaml.MappingNode):
                stack.extend(n for pair in reversed(current.value) for n in reversed(pair))
            elif isinstance(current, yaml.SequenceNode):
                stack.extend(reversed(current.value))
        raise yaml.MarkedYAMLError(problem=str(exc), problem_mark=node.start_mark) from None


def _read_yaml(path: Path, root: Path, model: type[M], what: str) -> tuple[M, yaml.Node, str]:
    """Parse ``path`` into ``model``; raise :class:`ContentError` with file:line problems."""
    shown = _shown(path, root)

    def problem(line: int, field: str, message: str) -> Problem:
        return Problem(shown, line, field, message)

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ContentError([problem(1, what, f"cannot read: {exc.strerror}")]) from None
    if size > MAX_MANIFEST_BYTES:
        raise ContentError(
            [problem(1, what, f"file is {size} bytes; the limit is {MAX_MANIFEST_BYTES}")]
        )
    try:
        text = path.read_text(encoding="utf-8")
        found = _shape_problem(text)
        if found is not None:  # checked on the event stream, before anything recurses
            line, field, message = found
            raise ContentError([problem(line, field or what, message)])
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = _construct(node)
    except UnicodeDecodeError:
        raise ContentError([problem(1, what, "file is not UTF-8 text")]) from None
    except OSError as exc:
        raise ContentError([problem(1, what, f"cannot read: {exc.strerror}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        raise ContentError([problem(line, what, f"invalid YAML: {reason}")]) from None
    if not isinstance(data, dict):
        raise ContentError([problem(1, what, "must be a mapping of keys to values")])
    try:
        return model.model_validate(data), node, shown
    except ValidationError as exc:
        raise ContentError(
            [
                problem(_line_of(node, loc), _field(loc, what), err["msg"])
                for err in exc.errors()
                for loc in [_clean_loc(err["loc"])]
            ]
        ) from None


def read_survey(path: Path, root: Path | None = None) -> Survey:
    """Parse and check one survey file; raise :class:`ContentError` listing every problem."""
    survey, _, _ = _read_yaml(path, root or path.parent, Survey, "survey")
    return survey


def read_course(
    manifest: Path, root: Path | None = None, check_notebooks: bool = True
) -> Course:
    """Parse and check ``manifest``; raise :class:`ContentError` listing every problem.

    File names in problems are relative to ``root`` (default: the manifest's folder). With
    ``check_notebooks``, every lesson notebook is checked too (:mod:`.notebooks`).
    """
    root = root or manifest.parent
    course, node, shown = _read_yaml(manifest, root, Course, "course")

    def problem(line: int, field: str, message: str) -> Problem:
        return Problem(shown, line, field, message)

    problems = [
        problem(_line_of(node, loc), _field(loc), message)
        for loc, message in course.reference_problems()
    ]
    folder = manifest.parent.resolve()
    checked: set[Path] = set()
    for li, lesson in enumerate(course.lessons):
        for ni, notebook in enumerate(lesson.notebooks):
            path = Path(os.path.realpath(folder / notebook))  # a loop of links: no error
            loc = ("lessons", li, "notebooks", ni)
            if not path.is_relative_to(folder):
                problems.append(problem(_line_of(node, loc), _field(loc), "leaves the course folder"))
            elif not path.is_file():
                problems.append(
                    problem(_line_of(node, loc), _field(loc), f"{notebook} does not exist")
                )
            elif check_notebooks and path not in checked:
                checked.add(path)
                problems.extend(check_notebook(path, _shown(manifest.parent / notebook, root)))
    survey_locs = [("survey",)] if course.survey else []
    survey_locs += [("lessons", i, "survey") for i, l in enumerate(course.lessons) if l.survey]
    for loc in survey_locs:
        name = course.survey if len(loc) == 1 else course.lessons[loc[1]].survey
        if not (folder / "surveys" / f"{name}.yaml").is_file():
            problems.append(
                problem(_line_of(node, loc), _field(loc), f"surveys/{name}.yaml does not exist")
            )
    if problems:
        raise ContentError(problems)
    return course
