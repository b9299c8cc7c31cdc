"""The hub's allowed-image policy: shell-style patterns (``fnmatch``) an environment image must
match. The spawner refuses a lesson whose image matches none; ``lms-content validate
--allowed-images`` reports such environments before a course is published."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import yaml

from .catalog import MANIFEST, Catalog
from .errors import Problem
from .loader import _line_of


def parse_patterns(text: str) -> list[str]:
    """Patterns from a comma-separated list (``lms/*, registry.example.org/course/*``)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def image_allowed(image: str, patterns: list[str]) -> bool:
    """Whether one of ``patterns`` admits ``image`` (case-sensitive, as image names are)."""
    return any(fnmatch.fnmatchcase(image, pattern) for pattern in patterns)


def policy_problems(catalog: Catalog, patterns: list[str]) -> list[Problem]:
    """One problem per environment whose image the policy refuses, at its line in course.yaml."""
    problems = []
    shown_patterns = ", ".join(patterns) or "empty"
    for slug, course in catalog.courses.items():
        folder = catalog.folders[slug]
        shown = f"{folder}/{MANIFEST}" if folder else MANIFEST
        node = None
        for name, env in course.environments.items():
            if image_allowed(env.image, patterns):
                continue
            if node is None:
                text = (Path(catalog.root) / shown).read_text(encoding="utf-8")
                node = yaml.compose(text, Loader=yaml.SafeLoader)
            loc = ("environments", name, "image")
            problems.append(Problem(shown, _line_of(node, loc), ".".join(loc),
                                    f"{env.image!r} is outside the hub's allowed-image policy "
                                    f"({shown_patterns}); the hub refuses its lessons"))
    return problems
