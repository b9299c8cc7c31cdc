"""Publish a content folder to a git remote as a new commit on its default branch.

Usage: publish_content.py SOURCE_DIR REMOTE [--message TEXT] [--branch main]

Creates REMOTE as a bare repo if it does not exist. Commits only when SOURCE_DIR differs from
the remote's last commit, so running it again publishes nothing new. Prints the commit id.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

AUTHOR = ["-c", "user.name=Course publisher", "-c", "user.email=publisher@localhost"]


def git(*args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def publish(source: Path, remote: Path, message: str, branch: str = "main") -> str:
    if not (remote / "HEAD").exists():
        remote.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(remote))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        git("clone", "--quiet", str(remote), str(work))
        git("checkout", "--quiet", "-B", branch, cwd=work)
        for child in work.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        shutil.copytree(source, work, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
        git("add", "--all", cwd=work)
        if git("status", "--porcelain", cwd=work):
            git(*AUTHOR, "commit", "--quiet", "-m", message, cwd=work)
            git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
        return git("rev-parse", "HEAD", cwd=work)


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
    print(publish(args.source.resolve(), args.remote.resolve(), args.message, args.branch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
