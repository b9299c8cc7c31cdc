"""Bring a course's learner repo into the home folder, and merge later content versions.

The merge is nbgitpuller's: the learner's changes are committed, then the new version is
merged with the learner's side winning where both changed the same lines; files the learner
deleted come back; a new course file that meets an untracked file of the learner moves the
learner's file aside. On top of that, for every file changed both by the learner and by the
course, the learner's copy from before the update is kept beside it
(``name__mine_<time>.ext``), and a notebook the line merge would leave unreadable is put back
to the learner's copy. The report names those files.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgitpuller.pull import GitPuller

from ..content.git import Git, GitError
from ..content.learner_repo import BRANCH, version_of

FETCH_EVERY = 60.0


class PullError(GitError):
    """The learner repo could not be brought in or merged; the message says what git said."""


@dataclass
class UpdateInfo:
    available: bool
    current: str
    latest: str
    changed: list[str] = field(default_factory=list)


@dataclass
class UpdateReport:
    from_version: str
    to_version: str
    updated: list[str] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class CoursePuller:
    """The learner's copy of one course (``home/<course>``) and its learner repo."""

    def __init__(self, repo_url: str, target: Path):
        self.repo_url = repo_url
        self.target = target
        self._lock = threading.Lock()
        self._fetched_at = 0.0
        self._git = Git(target, error=PullError, secrets=(repo_url,))

    def _puller(self) -> GitPuller:
        return GitPuller(self.repo_url, str(self.target), branch=BRANCH, depth=0)

    def _run(self, steps) -> None:
        try:
            for _ in steps:
                pass
        except subprocess.CalledProcessError as exc:
            raise PullError(f"{' '.join(exc.cmd[:3])} failed in {self.target} "
                            f"(exit {exc.returncode})") from None

    def _trust_repo(self) -> None:
        """Let git read the learner repo although the hub, not the learner, owns it (git's
        'dubious ownership' check): the learner's git config names this one path as safe."""
        if "://" in self.repo_url:
            return
        home = Git(self.target.parent, error=PullError, secrets=(self.repo_url,))
        try:
            listed = home("config", "--global", "--get-all", "safe.directory").split("\n")
        except PullError:  # none listed yet
            listed = []
        if self.repo_url not in listed:
            home("config", "--global", "--add", "safe.directory", self.repo_url)

    def bring_in(self) -> str:
        """Clone the course into the home the first time; afterwards leave it as it is.

        A folder from before (files without git) is adopted: its files stay as the learner's
        changes and missing course files come back. Returns the content version present.
        """
        with self._lock:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._trust_repo()
            if not (self.target / ".git").exists():
                if self.target.exists():
                    self._adopt()
                else:
                    self._run(self._puller().initialize_repo())
                self._configure()
            return self._current()

    def _adopt(self) -> None:
        self._git("init", "--quiet", f"--initial-branch={BRANCH}")
        self._git("remote", "add", "origin", self.repo_url)
        self._git("fetch", "--quiet", "origin")
        self._git("reset", "--quiet", f"origin/{BRANCH}")
        # files the folder lacks come back (the learner never had them)
        missing = [p for p in self._git("ls-files", "--deleted", "-z").split("\0") if p]
        if missing:
            self._git("checkout", "--", *missing)

    def _configure(self) -> None:
        for key, value in (("user.name", "learner"), ("user.email", "learner@localhost"),
                           ("core.fileMode", "false")):
            self._git("config", key, value)

    def _current(self) -> str:
        """The content version last brought in (the learner's own commits aside)."""
        return self._version(self._git("merge-base", "HEAD", f"origin/{BRANCH}"))

    def _version(self, rev: str) -> str:
        return version_of(self._git("log", "-1", "--format=%B", rev)) or \
            self._git("rev-parse", rev)

    def check(self, now: float) -> UpdateInfo:
        """Whether the learner repo has a newer version, and which files it changes."""
        with self._lock:
            if not (self.target / ".git").exists():
                return UpdateInfo(False, "", "")
            if now - self._fetched_at >= FETCH_EVERY:
                self._git("fetch", "--quiet", "origin")
                self._fetched_at = now
            upstream = f"origin/{BRANCH}"
            behind = not self._git.succeeds("merge-base", "--is-ancestor", upstream, "HEAD")
            changed = self._git("diff", "--name-only", f"HEAD...{upstream}").splitlines()
            return UpdateInfo(behind, self._current(), self._version(upstream), changed)

    def update(self) -> UpdateReport:
        """Merge the newest version into the learner's copy (nbgitpuller), keeping their work."""
        with self._lock:
            self._git("fetch", "--quiet", "origin")
            upstream = f"origin/{BRANCH}"
            report = UpdateReport(self._current(), self._version(upstream))
            report.updated = self._git("diff", "--name-only", f"HEAD...{upstream}").splitlines()
            stamp = datetime.datetime.now().strftime("%Y%m%d%H%M%S")
            mine = self._backup_both_changed(set(report.updated), stamp)
            try:
                self._run(self._puller().update())
            except PullError as exc:
                report.error = str(exc)
                return report
            for path, backup in mine.items():
                if path.endswith(".ipynb") and not _readable_notebook(self.target / path):
                    shutil.copyfile(self.target / backup, self.target / path)
                report.conflicts.append({"path": path, "kept_as": backup})
            report.to_version = self._current()
            self._fetched_at = 0.0
            return report

    def _backup_both_changed(self, upstream_changed: set[str], stamp: str) -> dict[str, str]:
        """Copy each file the learner changed that the course changed too; return path→copy."""
        # the learner's changes: since the course version last merged, committed or not
        base = self._git("merge-base", "HEAD", f"origin/{BRANCH}")
        local = set(self._git("diff", "--name-only", base).splitlines())
        kept = {}
        for path in sorted(local & upstream_changed):
            source = self.target / path
            if not source.is_file():
                continue
            backup = Path(path)
            backup = backup.with_name(f"{backup.stem}__mine_{stamp}{backup.suffix}")
            shutil.copyfile(source, self.target / backup)
            kept[path] = backup.as_posix()
        return kept


def _readable_notebook(path: Path) -> bool:
    try:
        nbformat.validate(nbformat.read(path, as_version=4))
    except Exception:  # noqa: BLE001 - any failure means the learner's copy is the safe one
        return False
    return True
