"""The lesson server's course outline from the real LMS service, and from its saved copy."""

from __future__ import annotations

import asyncio

from lms_extension.server.http import TokenClient
from lms_extension.server.outline import OutlineSource

from .conftest import event


def test_outline_carries_the_learners_status_and_survives_an_outage(lms, tmp_path):
    lms.events("uma", event("lesson_opened", "numpy-basics"))
    source = OutlineSource(TokenClient(lms.api_url[: -len("/api")], lms.token("uma")), "uma",
                           tmp_path / "outline.json", max_age=0)
    outline = asyncio.run(source.get())
    assert outline["stale"] is False and outline["user"] == "uma"
    lessons = {lesson["slug"]: lesson for lesson in outline["courses"][0]["lessons"]}
    assert lessons["numpy-basics"]["status"] == "in_progress"
    assert lessons["python-basics"]["status"] == "not_started"
    assert lessons["cnn-digits"]["environment"] == "gpu"
    assert lessons["model-to-production"]["completion"]["rule"] == "manual"
    assert lessons["numpy-basics"]["notebooks"] == ["dl-basics/02-numpy/numpy-basics.ipynb"]

    down = OutlineSource(TokenClient("http://127.0.0.1:9/services/lms", lms.token("uma")), "uma",
                         tmp_path / "outline.json", max_age=0)
    saved = asyncio.run(down.get())
    assert saved["stale"] is True and saved["error"]
    assert saved["courses"] == outline["courses"]
