"""Learner repos: one small git repo per course, holding what learners get in their home folder.

Each content version that is published adds one commit to ``<dir>/<course>.git`` (branch
``main``) whose tree is the course folder without ``course.yaml``, ``surveys/``, ``checks/``
(knowledge checks with their answer keys), ``solutions/`` (exercises' reference solutions) and hidden files, and whose message names the content version. Lesson servers see these repos read-only
and bring them into the learner's home with nbgitpuller, which merges later versions without
losing the learner's edits. A version that changes nothing for a course adds no commit to it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from .git import Git

BRANCH = "main"
LEFT_OUT = ("course.yaml", "surveys", "checks", "solutions")
MESSAGE_PREFIX = "content version "
AUTHOR = {
    "GIT_AUTHOR_NAME": "lms-platform", "GIT_AUTHOR_EMAIL": "lms-platform@localhost",
    "GIT_COMMITTER_NAME": "lms-platform", "GIT_COMMITTER_EMAIL": "lms-platform@localhost",
}


def publish_course(repos_dir: Path, course_slug: str, course_dir: Path, version: str,
                   at: str | None = None) -> str:
    """Commit ``course_dir``'s learner files as ``version`` on ``main``; return the commit.

    ``at`` (a git date) fixes the commit time, so that every hub and service that publishes
    the same versions gets the same commits.
    """
    git_dir = repos_dir.resolve() / f"{course_slug}.git"
    course_dir = course_dir.resolve()
    git = Git(git_dir=git_dir)
    if not (git_dir / "HEAD").exists():
        repos_dir.mkdir(parents=True, exist_ok=True)
        git("init", "--bare", "--quiet", f"--initial-branch={BRANCH}")
        # served read-only from a mount: let clones find everything without extra requests
        git("config", "uploadpack.allowReachableSHA1InWant", "true")
    with tempfile.TemporaryDirectory(prefix="lms-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_WORK_TREE": str(course_dir)}
        excludes = [f":(exclude){name}" for name in LEFT_OUT] + [":(exclude,glob)**/.*"]
        Git(course_dir, git_dir=git_dir)("add", "--all", "--", ".", *excludes, env=env)
        tree = git("write-tree", env=env)
    head = git.run("rev-parse", "--quiet", "--verify", f"refs/heads/{BRANCH}", check=False)
    parent = head.stdout.decode().strip()
    if parent and git("rev-parse", f"{parent}^{{tree}}") == tree:
        return parent
    dates = {"GIT_AUTHOR_DATE": at, "GIT_COMMITTER_DATE": at} if at else {}
    commit = git("commit-tree", tree, *(["-p", parent] if parent else []),
                 "-m", f"{MESSAGE_PREFIX}{version}", env={**AUTHOR, **dates})
    git("update-ref", f"refs/heads/{BRANCH}", commit, *([parent] if parent else []))
    git("update-server-info")
    return commit


def publish_version(repos_dir: Path, root: Path, folders: dict[str, str], version: str,
                    at: str | None = None) -> dict[str, str]:
    """Publish every course of one exported content version; return course → commit."""
    return {slug: publish_course(repos_dir, slug, root / folder if folder else root, version, at)
            for slug, folder in sorted(folders.items())}


def version_of(message: str) -> str:
    """The content version a learner-repo commit message names ('' if none)."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    return first[len(MESSAGE_PREFIX):] if first.startswith(MESSAGE_PREFIX) else ""
