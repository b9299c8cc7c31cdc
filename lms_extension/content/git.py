"""Running git: the one way the hub, the LMS service, lesson servers and the publishing script
call it.

git runs without a terminal (no prompt for a password can hang it: ``GIT_TERMINAL_PROMPT=0``,
no controlling terminal, no standard input), in the C locale (its messages read the same on
every machine), with a time limit after which it and the processes it started are killed.
A failure raises :class:`GitError` naming the command, where it ran and git's last line,
with the credentials of the repo URLs it was given masked (:mod:`.redact`): the message is
logged and shown to people.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from .redact import redact

TIMEOUT = 300.0  # seconds; a fetch from a remote that never answers ends after this
ENV = {"GIT_TERMINAL_PROMPT": "0", "LANG": "C", "LC_ALL": "C"}


class GitError(RuntimeError):
    """A git command failed; the message says which, where, and what git said."""


def _command(args: tuple[str, ...]) -> str:
    """The git command of ``args`` (``commit`` of ``-c user.name=x commit``)."""
    words = iter(args)
    for word in words:
        if word in ("-c", "-C"):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return ""


class Git:
    """git for one repo: run in ``cwd`` and/or with ``git_dir``; errors name the place as
    ``where`` (by default "in <cwd or git_dir>") and raise ``error`` (:class:`GitError` or a
    subclass), with every credential of ``secrets`` (repo URLs) masked."""

    def __init__(self, cwd: Path | str | None = None, *, git_dir: Path | str | None = None,
                 where: str = "", secrets: tuple[str, ...] = (),
                 error: type[GitError] = GitError, timeout: float = TIMEOUT):
        self.cwd = cwd
        self.git_dir = git_dir
        self.where = where or f"in {git_dir or cwd or os.getcwd()}"
        self.secrets = secrets
        self.error = error
        self.timeout = timeout

    def run(self, *args: str, env: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """``git args`` with its output (bytes); raise ``error`` if it fails and ``check``."""
        cmd = ["git", *(["--git-dir", str(self.git_dir)] if self.git_dir else []), *args]
        try:
            proc = subprocess.Popen(cmd, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env={**os.environ, **ENV, **(env or {})},
                                    start_new_session=True)
        except OSError as exc:  # no git, or no such folder
            raise self._error(args, f"{type(exc).__name__}: {exc}") from None
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # git and the helpers it started
            proc.communicate()
            raise self._error(args, f"no answer within {self.timeout:g} s") from None
        done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
        if check and done.returncode != 0:
            lines = (err or out).decode("utf-8", "replace").strip().splitlines()
            raise self._error(args, lines[-1] if lines else f"exit {done.returncode}")
        return done

    def _error(self, args: tuple[str, ...], reason: str) -> GitError:
        return self.error(redact(f"git {_command(args)} failed {self.where}: {reason}",
                                 *self.secrets))

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> str:
        """The output of ``git args``, stripped; raise ``error`` if it fails."""
        return self.run(*args, env=env).stdout.decode("utf-8", "surrogateescape").strip()

    def succeeds(self, *args: str) -> bool:
        """Whether ``git args`` exits 0 (for questions such as ``merge-base --is-ancestor``);
        raise ``error`` only if git cannot run or runs out of time."""
        return self.run(*args, check=False).returncode == 0
