"""Follow a git content repo: fetch it, and export each published commit as a content version.

A content version is the commit's full tree, exported once to ``<cache>/versions/<sha>`` and
never changed afterwards, so running lesson servers keep the files they started with. Each
version is also published to the learner repos under ``<cache>/learner`` (one per course, see
:mod:`.learner_repo`), from which lesson servers merge content updates into learners' homes.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog, load_catalog
from .errors import ContentError, Problem
from .git import Git, GitError
from .learner_repo import publish_version
from .redact import redact_url
from .tree import outside_repo, shown_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContentVersion:
    """One published commit of the content repo, exported and read."""

    sha: str
    path: Path
    catalog: Catalog


class ContentMirror:
    """A bare mirror of ``url`` under ``cache_dir`` that exports commits of ``ref`` (and, with
    ``learner_repos``, publishes them to the learner repos that lesson servers pull from)."""

    def __init__(self, url: str, ref: str, cache_dir: Path | str, learner_repos: bool = True):
        self.url = url
        self.ref = ref or "HEAD"
        self.cache_dir = Path(cache_dir)
        self.git_dir = self.cache_dir / "mirror.git"
        self.versions_dir = self.cache_dir / "versions"
        self.learner_dir = self.cache_dir / "learner"
        self.learner_repos = learner_repos
        # git's errors name the repo by its URL, credentials masked
        self._git = Git(git_dir=self.git_dir, where=f"for {redact_url(url)}", secrets=(url,))

    def fetch(self) -> str:
        """Bring the mirror up to date and return the commit ``ref`` points at."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        if not (self.git_dir / "HEAD").exists():
            self._git("init", "--bare", "--quiet")
            self._git("remote", "add", "--mirror=fetch", "origin", self.url)
        # the mirror's config holds the URL, credentials and all: for its owner only
        self.git_dir.chmod(0o700)
        self._git("fetch", "--quiet", "--prune", "--force", "origin")
        ref = self.ref
        if ref == "HEAD":
            # a bare mirror's HEAD is not updated by fetch; ask the remote for its default
            head = self._git("ls-remote", "--symref", "origin", "HEAD")
            line = next((x for x in head.splitlines() if x.startswith("ref:")), "")
            ref = line.split()[1] if line else "HEAD"
        return self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")

    def export(self, sha: str) -> Path:
        """Write the tree of ``sha`` to ``versions/<sha>`` (once; atomically)."""
        target = self.versions_dir / sha
        if target.is_dir():
            return target
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{sha[:12]}-", dir=self.versions_dir))
        refused: list[Problem] = []

        def keep_inside(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
            """tarfile's ``data`` filter, with what it refuses listed rather than raised: a
            link or path that leaves the export is left out, and the version refused."""
            try:
                return tarfile.data_filter(member, dest)
            except tarfile.FilterError:
                if member.issym() or member.islnk():
                    refused.append(outside_repo(member.name, member.linkname))
                else:
                    refused.append(Problem(shown_path(member.name), 1, "path",
                                           "leads out of the content repo through a symlink"))
                return None

        try:
            archive = self._git.run("archive", "--format=tar", sha).stdout
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r|") as tar:
                tar.extractall(tmp, filter=keep_inside)
            if refused:
                raise ContentError(refused)
            tmp.chmod(0o755)
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if target.is_dir():  # another process exported the same commit first
                return target
            raise
        return target

    def sync(self) -> ContentVersion:
        """Fetch, export and read the newest commit of ``ref``.

        Raises :class:`ContentError` (with the validator's problems) if that commit's content is
        broken, and :class:`GitError` if the repo cannot be reached.
        """
        sha = self.fetch()
        try:
            path = self.export(sha)
            catalog = load_catalog(path)
        except ContentError as exc:
            raise ContentError(
                [Problem(f"{sha[:12]}:{p.file}", p.line, p.field, p.message) for p in exc.problems]
            ) from None
        except GitError:
            raise
        except Exception as exc:  # whatever else a commit makes the reading do: refused too
            log.exception("Reading content version %s failed", sha[:12])
            raise ContentError([Problem(sha[:12], 1, "content",
                                        f"cannot be read: {type(exc).__name__}: {exc}")]) from None
        if self.learner_repos:
            at = self._git("log", "-1", "--format=%cI", sha)
            try:
                publish_version(self.learner_dir, path, catalog.folders, sha, at=at)
            except GitError as exc:
                raise GitError(f"publishing the learner repos of {sha[:12]}: {exc}") from None
        return ContentVersion(sha=sha, path=path, catalog=catalog)

