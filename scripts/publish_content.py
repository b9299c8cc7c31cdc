"""Publish a content folder to a git remote as a new commit on its default branch.

Usage: publish_content.py SOURCE_DIR REMOTE [--message TEXT] [--branch main]

Creates REMOTE as a bare repo if it does not exist. Commits only when SOURCE_DIR differs from
the remote's last commit, so running it again publishes nothing new. Prints the commit id.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from lms_extension.content.git import Git, GitError

AUTHOR = ["-c", "user.name=Course publisher", "-c", "user.email=publisher@localhost"]


def publish(source: Path, remote: Path, message: str, branch: str = "main") -> str:
    if not (remote / "HEAD").exists():
        remote.mkdir(parents=True, exist_ok=True)
        Git(remote)("init", "--quiet", "--bare", f"--initial-branch={branch}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        Git(tmp)("clone", "--quiet", str(remote), str(work))
        git = Git(work)
        git("checkout", "--quiet", "-B", branch)
        for child in work.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        shutil.copytree(source, work, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
        git("add", "--all")
        if git("status", "--porcelain"):
            git(*AUTHOR, "commit", "--quiet", "-m", message)
            git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        return git("rev-parse", "HEAD")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("remote", type=Path)
    parser.add_argument("--message", default="Publish course content")
    parser.add_argument("--branch", default="main")
    args = parser.parse_args()
    if not args.source.is_dir():
        print(f"{args.source}: not a folder", file=sys.stderr)
        return 1
    try:
        print(publish(args.source.resolve(), args.remote.resolve(), args.message, args.branch))
    except GitError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
