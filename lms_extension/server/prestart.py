"""Start the lesson notebook's kernel while JupyterLab loads.

A lesson server is started to open one notebook (JupyterHub's default URL,
``/lab/tree/<course>/<notebook>``, which the hub's ``LessonSpawner`` sets). Left alone, its
kernel starts only once JupyterLab has loaded in the browser, opened the notebook and asked for
a session. Instead, the server creates that session itself as soon as it starts, under the
notebook's path, as JupyterLab would (type ``notebook``, named after the file, the notebook's
kernel): when JupyterLab opens the notebook it finds the session and connects to its kernel,
already started or idle. A session JupyterLab (or anyone) made first is left as it is.
"""

from __future__ import annotations

import asyncio
import json
import logging
import posixpath
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

# the URL forms that open one document: JupyterLab's tree route, Notebook 7's
_DOCUMENT_ROUTES = ("/lab/tree/", "/tree/", "/notebooks/")


def notebook_of(url: str) -> str:
    """The notebook that a server's default URL opens (``''`` when it opens none), relative to
    the server's root: ``/lab/tree/dl-basics/01/a.ipynb?reset`` → ``dl-basics/01/a.ipynb``."""
    path = unquote(urlsplit(url or "").path)
    for route in _DOCUMENT_ROUTES:
        at = path.find(route)
        if at >= 0:
            rest = path[at + len(route):].strip("/")
            break
    else:
        return ""
    rest = posixpath.normpath(rest) if rest else ""
    if not rest.endswith(".ipynb") or rest == ".." or rest.startswith("../"):
        return ""
    return rest


def kernel_name_of(notebook: Path, known: set[str]) -> str | None:
    """The kernel the notebook's metadata names, if this server has it (else: the default)."""
    try:
        with notebook.open("rb") as handle:
            metadata = json.load(handle).get("metadata") or {}
    except (OSError, ValueError, AttributeError):
        return None
    spec = metadata.get("kernelspec") if isinstance(metadata, dict) else None
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) and name in known else None


async def start_lesson_kernel(serverapp, path: str, logger: logging.Logger = log) -> str | None:
    """Create the session of the notebook at ``path`` (relative to the server's root) with its
    kernel, unless one exists; returns the kernel id started, or None."""
    root = Path(serverapp.root_dir)
    notebook = root / path
    if not notebook.is_file() or not notebook.resolve().is_relative_to(root.resolve()):
        logger.warning("lms_extension: no kernel started ahead: %s is not in the home folder",
                       path)
        return None
    sessions = serverapp.session_manager
    if await sessions.session_exists(path=path):
        return None
    try:
        known = set((await _maybe_await(serverapp.kernel_spec_manager.get_all_specs())).keys())
    except Exception:  # noqa: BLE001 - no list of kernels: the default kernel
        known = set()
    kernel_name = await asyncio.to_thread(kernel_name_of, notebook, known)
    started = time.monotonic()
    model = await sessions.create_session(path=path, name=posixpath.basename(path),
                                          type="notebook", kernel_name=kernel_name)
    kernel = model.get("kernel") or {}
    logger.info("lms_extension: kernel %s for %s started ahead of JupyterLab in %.2f s",
                kernel.get("name"), path, time.monotonic() - started)
    return kernel.get("id")


async def _maybe_await(value):
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value
