"""The lesson notebook's kernel, started by the server itself as it starts (a real Jupyter Server
with the extension, a real ipykernel): JupyterLab then finds the session under the notebook's
path. Off with LMS_PRESTART_KERNEL=0."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
from traitlets import TraitError

from lms_extension.server.app import LmsExtensionApp
from lms_extension.server.prestart import notebook_of

from ..hubctl import ROOT

NOTEBOOK = "dl-basics/01-python/python-basics.ipynb"


@pytest.fixture
def lesson_home(jp_root_dir, monkeypatch, request):
    """The learner's home with the lesson's notebook, opened by the hub's default URL; the
    test's ``prestart`` parameter is LMS_PRESTART_KERNEL (none: unset)."""
    value = getattr(request, "param", None)
    if value is None:
        monkeypatch.delenv("LMS_PRESTART_KERNEL", raising=False)
    else:
        monkeypatch.setenv("LMS_PRESTART_KERNEL", value)
    target = jp_root_dir / NOTEBOOK
    target.parent.mkdir(parents=True)
    shutil.copy(ROOT / "content_repo" / NOTEBOOK, target)
    monkeypatch.setenv("JUPYTERHUB_DEFAULT_URL", f"/lab/tree/{NOTEBOOK}")
    return jp_root_dir


async def sessions_soon(jp_fetch, seconds: float = 15.0) -> list[dict]:
    """The server's sessions, once there is one (or after ``seconds``)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = json.loads((await jp_fetch("api", "sessions")).body)
        if found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def test_the_lesson_notebook_has_its_kernel_as_soon_as_the_server_runs(lesson_home,
                                                                              jp_fetch):
    found = await sessions_soon(jp_fetch)
    assert [(s["path"], s["name"], s["type"]) for s in found] == [
        (NOTEBOOK, "python-basics.ipynb", "notebook")]
    kernel = found[0]["kernel"]
    assert kernel["name"] == "python3"
    # JupyterLab asks for a session of the notebook as it opens it: it gets this one
    r = await jp_fetch("api", "sessions", method="POST", body=json.dumps({
        "path": NOTEBOOK, "name": "python-basics.ipynb", "type": "notebook",
        "kernel": {"name": "python3"}}))
    assert json.loads(r.body)["kernel"]["id"] == kernel["id"]
    assert [k["id"] for k in json.loads((await jp_fetch("api", "kernels")).body)] == [
        kernel["id"]]


@pytest.mark.parametrize("lesson_home", ["0", "false"], indirect=True)
async def test_switched_off_no_kernel_starts_until_the_notebook_is_opened(lesson_home,
                                                                          jp_fetch):
    assert await sessions_soon(jp_fetch, 3.0) == []
    assert json.loads((await jp_fetch("api", "kernels")).body) == []


async def test_a_default_url_without_a_notebook_starts_no_kernel(jp_root_dir, monkeypatch,
                                                                   jp_fetch):
    monkeypatch.setenv("JUPYTERHUB_DEFAULT_URL", "/lab/tree/dl-basics/missing.ipynb")
    r = await jp_fetch("lms", "api", "context")  # the server runs as ever
    assert json.loads(r.body)["version"]
    assert await sessions_soon(jp_fetch, 3.0) == []


def test_the_notebook_comes_from_jupyterhubs_default_url():
    assert notebook_of(f"/lab/tree/{NOTEBOOK}") == NOTEBOOK
    assert notebook_of("/user/ana/lab/tree/a%20b/c.ipynb?reset") == "a b/c.ipynb"
    assert notebook_of("/tree/x.ipynb") == "x.ipynb"
    for url in ("", "/lab", "/lab/tree/dl-basics/", "/lab/tree/../../etc/x.ipynb",
                "/lab/tree/notes.txt"):
        assert notebook_of(url) == "", url


def test_the_setting_reads_its_variable(monkeypatch):
    for raw, expected in (("", True), ("1", True), ("true", True), ("0", False),
                          ("False", False), ("off", False)):
        monkeypatch.setenv("LMS_PRESTART_KERNEL", raw)
        assert LmsExtensionApp().prestart_kernel is expected, raw
    monkeypatch.setenv("LMS_PRESTART_KERNEL", "sometimes")
    with pytest.raises(TraitError, match="LMS_PRESTART_KERNEL: 'sometimes'"):
        LmsExtensionApp().prestart_kernel
