"""A slow LMS service does not hold back the lesson server's course outline: with a saved copy,
the outline is served after ``max_wait`` seconds (marked stale), and the service's late answer is
saved for the next request. The service is the real one, paused (SIGSTOP) while it is slow."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

from lms_extension.server.http import TokenClient
from lms_extension.server.outline import OutlineSource

from .conftest import event


def service_pid(hub) -> int:
    """The LMS service process the hub started (its child running ``lms_extension.service``)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == hub.proc.pid and b"lms_extension.service" in cmdline:
            return int(entry.name)
    raise AssertionError("the hub runs no LMS service process")


@contextlib.contextmanager
def paused(pid: int):
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_a_slow_service_gets_max_wait_and_its_late_answer_is_kept(lms, tmp_path):
    client = TokenClient(lms.api_url[: -len("/api")], lms.token("wes"))
    source = OutlineSource(client, "wes", tmp_path / "outline.json", max_age=0, max_wait=0.5)
    saved = asyncio.run(source.get())
    assert saved["stale"] is False
    lms.events("wes", event("lesson_opened", "numpy-basics"))  # the service knows more now

    async def scenario():
        pid = service_pid(lms.hub)
        with paused(pid):
            started = time.monotonic()
            quick = await source.get()
            waited = time.monotonic() - started
            again = await source.get()  # the same fetch, still on its way
        assert quick["stale"] is True and "within 0.5 s" in quick["error"]
        assert quick["courses"] == saved["courses"]
        assert waited < 3, waited
        assert again["stale"] is True
        # the service answers once it runs again; the answer is saved for the next request
        deadline = time.monotonic() + 30
        while source._fetching is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return source._read_cache()

    kept = asyncio.run(scenario())
    lessons = {lesson["slug"]: lesson for lesson in kept["courses"][0]["lessons"]}
    assert lessons["numpy-basics"]["status"] == "in_progress"
    assert kept["fetched_at"] > saved["fetched_at"]


def test_without_a_saved_copy_the_outline_waits_for_the_service(lms, tmp_path):
    source = OutlineSource(TokenClient(lms.api_url[: -len("/api")], lms.token("xia")), "xia",
                           tmp_path / "outline.json", max_age=0, max_wait=0.2)

    async def scenario():
        pid = service_pid(lms.hub)
        answer = asyncio.ensure_future(source.get())
        with paused(pid):
            await asyncio.sleep(1.0)
            assert not answer.done()  # nothing saved to show: it waits
        return await answer

    outline = asyncio.run(scenario())
    assert outline["stale"] is False and outline["courses"]
