"""The one way the lesson server runs git: no prompts, C locale, errors that say what git said."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class GitError(RuntimeError):
    """A git command failed; the message names the command, the folder and git's last line."""


def _run(cwd: Path, args: tuple[str, ...]) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, "LANG": "C", "LC_ALL": "C",
                               "GIT_TERMINAL_PROMPT": "0"})


def git(cwd: Path, *args: str) -> str:
    """Run ``git args`` in ``cwd`` and return its output, stripped; raise :class:`GitError`."""
    proc = _run(cwd, args)
    if proc.returncode != 0:
        reason = (proc.stderr or proc.stdout).strip().splitlines()
        raise GitError(f"git {args[0]} in {cwd}: {reason[-1] if reason else proc.returncode}")
    return proc.stdout.strip()


def git_succeeds(cwd: Path, *args: str) -> bool:
    """Whether ``git args`` exits 0 (for questions such as ``merge-base --is-ancestor``)."""
    return _run(cwd, args).returncode == 0
