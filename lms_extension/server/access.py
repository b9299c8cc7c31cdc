"""Access notices: when someone other than the owner (an admin or instructor using hub access)
uses this lesson server, it is recorded in the owner's home and shown to them."""

from __future__ import annotations

import json
import time
from pathlib import Path

MAX_RECORDS = 200


class AccessLog:
    def __init__(self, owner: str, path: Path):
        self.owner = owner
        self.path = path
        self._last: dict[str, float] = {}

    def observe(self, handler) -> None:
        """A tornado ``log_function``: note requests made by anyone but the owner."""
        user = getattr(handler, "current_user", None)
        name = getattr(user, "username", None) or getattr(user, "name", None)
        if not name or name == self.owner or not self.owner:
            return
        now = time.time()
        if now - self._last.get(name, 0) < 60:  # one record a minute per visitor is enough
            return
        self._last[name] = now
        record = {"who": name, "at": now, "path": handler.request.path,
                  "method": handler.request.method}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")

    def records(self) -> list[dict]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()[-MAX_RECORDS:]
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out
