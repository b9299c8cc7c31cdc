"""Previews of a branch or pull-request ref of the content repo, for editors.

A preview never touches what learners get: the ref is fetched into a mirror of its own
(``<content cache>/preview/mirror.git``, under ``refs/lms-preview/``), exported to
``preview/versions/<commit>``, read by the same validator as every published version, and its
courses are published to learner repos of their own, ``preview/learner/<commit>/<course>.git``.
The live version, its learner repos and the LMS service never hear of it.
"""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path

from tornado import web

from lms_extension.content.errors import ContentError
from lms_extension.content.git import Git, GitError
from lms_extension.content.redact import redact
from lms_extension.content.repo import ContentMirror, ContentVersion

NAMESPACE = "refs/lms-preview/"
MAX_REF_LENGTH = 200
# the refs a preview may name: a branch, or a pull request's head or merge ref
_PULL = re.compile(r"refs/pull/[0-9]{1,9}/(head|merge)")
_ALLOWED = re.compile(r"[A-Za-z0-9._/-]+")


class BadRef(ValueError):
    """A ref name a preview refuses; the message says why."""


def full_ref(name: str) -> str:
    """The full ref of a preview's ``name`` (``refs/heads/x``, ``refs/pull/12/head``, or a bare
    branch name ``x``), checked strictly by git's ``check-ref-format`` rules and more: only
    letters, digits, ``.``, ``_``, ``-`` and ``/``; nothing that reads as an option."""
    if not isinstance(name, str) or not name:
        raise BadRef("preview: name a branch (e.g. new-lesson) or a ref such as "
                     "refs/heads/new-lesson or refs/pull/12/head")
    if len(name) > MAX_REF_LENGTH:
        raise BadRef(f"preview: a ref name of at most {MAX_REF_LENGTH} characters")
    if not _ALLOWED.fullmatch(name):
        raise BadRef(f"preview: {name!r} holds characters a ref name may not (use letters, "
                     "digits, '.', '_', '-' and '/')")
    ref = name if name.startswith("refs/") else f"refs/heads/{name}"
    parts = ref.split("/")
    if (name.startswith("-") or ".." in ref or "//" in ref or ref.endswith(("/", ".", ".lock"))
            or any(p.startswith(".") or p.endswith(".lock") or not p for p in parts)):
        raise BadRef(f"preview: {name!r} is not a valid ref name (git check-ref-format)")
    if not (ref.startswith("refs/heads/") and len(parts) > 2) and not _PULL.fullmatch(ref):
        raise BadRef(f"preview: {name!r} is neither a branch (refs/heads/…) nor a pull "
                     "request's ref (refs/pull/<number>/head or /merge)")
    if not Git().succeeds("check-ref-format", ref):
        raise BadRef(f"preview: {name!r} is not a valid ref name (git check-ref-format)")
    return ref


class PreviewMirror(ContentMirror):
    """A :class:`ContentMirror` of one ref, fetched into the preview namespace and published to
    learner repos of its own commit (never the learners')."""

    _lock = threading.Lock()  # one preview fetch at a time in this process

    def __init__(self, url: str, ref: str, cache_dir: Path | str):
        super().__init__(url, full_ref(ref), Path(cache_dir) / "preview")
        self.root = self.cache_dir

    def fetch(self) -> str:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        if not (self.git_dir / "HEAD").exists():
            self._git("init", "--bare", "--quiet")
            self._git("remote", "add", "origin", self.url)
        self.git_dir.chmod(0o700)  # the config holds the URL, credentials and all
        local = NAMESPACE + self.ref[len("refs/"):]
        try:
            self._git("fetch", "--quiet", "--force", "--no-tags", "origin",
                      f"+{self.ref}:{local}")
        except GitError as exc:
            if "couldn't find remote ref" in str(exc):
                raise GitError(f"preview: the content repo has no ref {self.ref!r}") from None
            raise
        sha = self._git("rev-parse", "--verify", "--quiet", f"{local}^{{commit}}")
        self.learner_dir = self.learner_dir_of(self.root.parent, sha)
        return sha

    @staticmethod
    def learner_dir_of(cache_dir: Path | str, sha: str) -> Path:
        """Where the learner repos of a preview of commit ``sha`` are published."""
        return Path(cache_dir) / "preview" / "learner" / sha

    def sync(self) -> ContentVersion:
        with self._lock:
            return super().sync()


def may_preview(user, groups) -> bool:
    """Whether the hub ``user`` may preview refs: a hub admin, or a member of ``groups``."""
    names = {g.name for g in getattr(user, "groups", None) or []}
    return bool(getattr(user, "admin", False) or names & set(groups))


def check_may_preview(user, groups) -> None:
    """HTTP 403 unless ``user`` may preview."""
    if not may_preview(user, groups):
        raise web.HTTPError(403, "preview: only editors (members of the hub group(s) "
                                 f"{', '.join(groups) or '(none)'}) and hub admins may "
                                 "preview a branch")


async def load_preview(url: str, ref, cache_dir: str) -> tuple[str, ContentVersion]:
    """``ref`` fetched, validated and published for previews: its full name and its content.
    HTTP 400 for a bad ref name, a ref the repo lacks, or content that fails validation (the
    message lists the validator's lines, credentials masked)."""
    try:
        mirror = PreviewMirror(url, ref, cache_dir)
        return mirror.ref, await asyncio.to_thread(mirror.sync)
    except BadRef as exc:
        raise web.HTTPError(400, str(exc)) from None
    except ContentError as exc:
        lines = [redact(str(p), url) for p in exc.problems]
        raise web.HTTPError(400, f"preview: {mirror.ref} fails validation:\n"
                            + "\n".join(lines)) from None
    except GitError as exc:
        raise web.HTTPError(400, redact(str(exc), url)) from None
