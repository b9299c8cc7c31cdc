"""A real Jupyter Server with the lms_extension server extension (pytest-jupyter)."""

import pytest


@pytest.fixture
def lms_env(monkeypatch, jp_home_dir):
    """The environment a lesson server gets from LessonSpawner and the hub (no LMS service)."""
    monkeypatch.setenv("HOME", str(jp_home_dir))
    monkeypatch.setenv("JUPYTERHUB_USER", "owner")
    monkeypatch.delenv("LMS_SERVICE_URL", raising=False)
    monkeypatch.delenv("LMS_CONTENT_DIR", raising=False)
    return jp_home_dir


@pytest.fixture
def jp_server_config(lms_env):
    return {"ServerApp": {"jpserver_extensions": {"lms_extension": True}}}


@pytest.fixture
def service():
    """A real HTTP server that speaks the LMS service's event protocol (tests/lab/protocol_service)."""
    from .protocol_service import ProtocolService

    svc = ProtocolService().start()
    yield svc
    svc.stop()
