"""A real Chromium (Debian's, driven by Playwright's driver; no browser download) against the
real hub, LMS service and lesson containers. A failing test leaves a screenshot of every open
page in ``test-artifacts/`` at the repository root."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from ..conftest import _cleanup_docker
from ..hubctl import ROOT, Hub

ARTIFACTS = ROOT / "test-artifacts"
ADMIN = "browseradmin"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Debian's chromium is not installed: run the tests with scripts/test.sh")


@pytest.fixture(scope="module")
def hub(docker_engine, content_remote, run_id, tmp_path_factory, request):
    """A hub of its own per test module, with an admin account for the LMS service's cohort
    settings, and the module's ``HUB_ENV`` settings."""
    suffix = f"{run_id}{request.module.__name__.rsplit('_', 1)[-1][:4]}"
    hub = Hub(tmp_path_factory.mktemp("browser-hub"), str(content_remote), suffix,
              {"LMS_ADMIN_USERS": ADMIN, **getattr(request.module, "HUB_ENV", {})})
    hub.start()
    yield hub
    hub.stop()
    _cleanup_docker(suffix)


@pytest.fixture
def jp_asyncio_loop():
    """No Jupyter Server runs in this process here: Playwright's driver owns the event loop,
    so pytest-jupyter's loop and clean-up fixtures (autouse) stand aside."""
    yield None


@pytest.fixture
def jp_server_cleanup():
    yield


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module: Playwright's driver holds an event loop while it runs,
    which must be gone before tests that run their own (pytest-jupyter's)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(30_000)
    yield context
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
        for number, page in enumerate(context.pages):
            path = ARTIFACTS / f"{name}-{number}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                print(f"screenshot of {page.url}: {path}")
            except Exception as exc:  # noqa: BLE001 - a closed page: say so, keep going
                print(f"no screenshot of page {number}: {exc}")
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


def with_session_cookies(context, session, hub_url: str) -> None:
    """Give the browser the cookies of a ``requests`` session that logged in to the hub."""
    host = re.sub(r"^https?://", "", hub_url).split(":")[0]
    context.add_cookies([
        {"name": c.name, "value": c.value, "domain": host, "path": c.path or "/"}
        for c in session.cookies
    ])
