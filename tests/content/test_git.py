"""How the hub, the LMS service and lesson servers run git (``lms_extension.content.git``),
against real git and real sockets on 127.0.0.1: a remote that never answers ends within the time
limit with nothing left running, a remote that asks for a password fails at once instead of
prompting, and every failure names the command, the place and git's words, credentials
masked."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from pathlib import Path

import pytest

from lms_extension.content.git import Git, GitError

SECRET = "s3cret-token-4711"


def _running(marker: str) -> list[str]:
    """Command lines of the processes that mention ``marker``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in text:
            found.append(text)
    return found


@pytest.fixture
def silent_remote():
    """A port on 127.0.0.1 that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def password_remote():
    """An HTTP git remote on 127.0.0.1 that answers every request with 401 (basic auth)."""

    class AskForPassword(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="course"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AskForPassword)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_remote_that_never_answers_ends_in_time_with_nothing_left_running(tmp_path,
                                                                           silent_remote):
    url = f"http://learner:{SECRET}@127.0.0.1:{silent_remote}/course.git"
    git = Git(tmp_path, secrets=(url,), timeout=3)
    outcome: list[BaseException | str] = []

    def ask():
        try:
            outcome.append(git("ls-remote", url))
        except BaseException as exc:  # noqa: BLE001 - looked at below
            outcome.append(exc)

    # in a thread: if the time limit failed, the test would wait forever for git
    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(30)
    assert outcome, "git still waits for the silent remote 30 s later (limit: 3 s)"
    assert isinstance(outcome[0], GitError), outcome
    message = str(outcome[0])
    assert message == f"git ls-remote failed in {tmp_path}: no answer within 3 s", message
    deadline = time.monotonic() + 5
    while _running(str(silent_remote)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(str(silent_remote)), "git or its helpers still run after the time limit"


def test_a_remote_that_asks_for_a_password_fails_without_prompting(tmp_path, password_remote,
                                                                   monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no credential helper from the machine's config
    url = f"http://127.0.0.1:{password_remote}/course.git?private_token={SECRET}"
    mirror = tmp_path / "mirror.git"
    git = Git(git_dir=mirror, where=f"for the content repo of {url}", secrets=(url,), timeout=60)
    git("init", "--bare", "--quiet")
    started = time.monotonic()
    with pytest.raises(GitError) as err:
        git("fetch", url)
    assert time.monotonic() - started < 15
    message = str(err.value)
    assert message.startswith(f"git fetch failed for the content repo of http://127.0.0.1:"
                              f"{password_remote}/course.git?private_token=***: "), message
    assert "terminal prompts disabled" in message, message
    assert SECRET not in message


def test_failures_raise_the_callers_error_and_questions_answer_no(tmp_path):
    class CourseError(GitError):
        pass

    git = Git(tmp_path, error=CourseError)
    git("init", "--quiet", "--initial-branch=main")
    assert git.succeeds("rev-parse", "--git-dir")
    assert not git.succeeds("rev-parse", "--verify", "--quiet", "refs/heads/main")
    with pytest.raises(CourseError) as err:
        git("-c", "user.name=x", "checkout", "no-such-branch")
    assert str(err.value).startswith(f"git checkout failed in {tmp_path}: error: pathspec"), \
        str(err.value)
    with pytest.raises(CourseError, match="git status failed in .*: FileNotFoundError"):
        Git(tmp_path / "missing", error=CourseError)("status")
