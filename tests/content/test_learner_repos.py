"""Following a content remote publishes each good version to the learner repos (the hub's
mirror does; the LMS service's, which only needs the catalog, does not)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from lms_extension.content.repo import ContentMirror

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from publish_content import publish  # noqa: E402


def commits(repo: Path) -> list[str]:
    return subprocess.run(["git", "--git-dir", str(repo), "log", "--format=%s", "main"],
                          capture_output=True, text=True, check=True).stdout.splitlines()


def test_each_published_version_reaches_the_learner_repo_once(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT / "content_repo", source)
    remote = tmp_path / "content.git"
    publish(source, remote, "first")
    hub = ContentMirror(str(remote), "HEAD", tmp_path / "hub-cache")
    first = hub.sync()
    repo = hub.learner_dir / "dl-basics.git"
    assert commits(repo) == [f"content version {first.sha}"]
    assert hub.sync().sha == first.sha and len(commits(repo)) == 1  # nothing new, no commit

    # a change outside the course's learner files (its surveys) is a new content version, but
    # learners get nothing new
    survey = source / "dl-basics" / "surveys" / "end-of-lesson.yaml"
    survey.write_text(survey.read_text().replace("How was this lesson?", "How did it go?"))
    publish(source, remote, "survey wording")
    assert hub.sync().sha != first.sha and len(commits(repo)) == 1
    (source / "dl-basics" / "02-numpy" / "hints.md").write_text("Use broadcasting.\n")
    third = hub.sync() if publish(source, remote, "hints") else None
    assert commits(repo)[0] == f"content version {third.sha}"

    service = ContentMirror(str(remote), "HEAD", tmp_path / "service-cache", learner_repos=False)
    assert service.sync().sha == third.sha
    assert not service.learner_dir.exists()
