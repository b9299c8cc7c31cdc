"""One forwarder per home: the server that holds an exclusive ``flock`` on ``events.lock`` in
the queue's folder forwards the queue; the learner's other servers on the same home volume (named
servers of other environments) only add to it. The lock goes with the process that held it, so
when that server stops, another one takes over at its next try."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path


class HomeLease:
    def __init__(self, path: Path, holder: str = ""):
        self.path = path
        self.holder = holder or socket.gethostname()
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lease if no other server holds it; true when this one holds it now."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by another server (or process) of this home
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"holder": self.holder, "pid": os.getpid()}).encode())
        self._fd = fd
        return True

    def holder_now(self) -> str:
        """Who forwards this home's queue, as the holder wrote it (empty: nobody yet)."""
        try:
            return json.loads(self.path.read_text() or "{}").get("holder", "")
        except (OSError, ValueError):
            return ""

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the lock
            self._fd = None
