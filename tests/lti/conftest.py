"""Fixtures of the LTI 1.3 tests: a running test platform, and a hub that trusts it."""

from __future__ import annotations

import pytest

from ..conftest import _cleanup_docker
from ..hubctl import Hub
from .platform import LtiPlatform


@pytest.fixture(scope="module")
def lti_platform():
    """The school's LMS: see tests/lti/platform.py for what it offers to tests."""
    platform = LtiPlatform().start()
    yield platform
    platform.stop()


def lti_hub_for(platform, state, content_remote, run_id, extra_env=None) -> Hub:
    """A hub with ``LMS_AUTHENTICATOR=lti13`` that trusts ``platform``; the platform knows
    the hub's tool URLs. Not started."""
    hub = Hub(state, str(content_remote), run_id, {**platform.hub_env(), **(extra_env or {})})
    platform.register_tool(hub.url)
    return hub


@pytest.fixture(scope="module")
def lti_hub(docker_engine, content_remote, run_id, lti_platform, tmp_path_factory, request):
    """A hub of its own per test module (containers named ``lms-test-<run>-lti…``), with the
    module's ``HUB_ENV`` settings."""
    suffix = f"{run_id}-lti{request.module.__name__.rsplit('_', 1)[-1][:4]}"
    hub = lti_hub_for(lti_platform, tmp_path_factory.mktemp("lti-hub"), content_remote, suffix,
                      getattr(request.module, "HUB_ENV", {}))
    hub.start()
    yield hub
    hub.stop()
    _cleanup_docker(suffix)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing launch test shows the hub's log and what the platform refused."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    hub, platform = item.funcargs.get("lti_hub"), item.funcargs.get("lti_platform")
    if isinstance(hub, Hub):
        report.sections.append(("hub log (last 150 lines)", hub.log_tail(150)))
    if platform is not None:
        report.sections.append(("platform refusals", "\n".join(platform.errors[-20:])))
