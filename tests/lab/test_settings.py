"""The server extension's settings: documented traits whose defaults come from the variables the
hub's LessonSpawner sets, read in one place; and the user side's import boundary (nothing of the
LMS service)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from traitlets import TraitError
from traitlets.config import Config

from lms_extension.server.app import LmsExtensionApp

from ..hubctl import ROOT

SERVER = ROOT / "lms_extension" / "server"
SPAWNER_ENV = {
    "LMS_COURSE": ("course", "dl-basics"),
    "LMS_LESSON": ("lesson", "numpy-basics"),
    "LMS_CONTENT_VERSION": ("content_version", "abc123"),
    "LMS_ENVIRONMENT": ("environment", "cpu"),
    "LMS_LEARNER_REPO": ("learner_repo", "/srv/lms/learner/dl-basics.git"),
    "LMS_CONTENT_DIR": ("content_dir", "/srv/lms/content"),
    "LMS_SERVICE_URL": ("service_url", "http://10.213.0.1:10101/services/lms"),
    "LMS_IDLE_TIMEOUT": ("idle_timeout", 3600),
    "JUPYTERHUB_API_URL": ("hub_api_url", "http://10.213.0.1:8081/hub/api"),
    "JUPYTERHUB_API_TOKEN": ("token", "secret"),
    "JUPYTERHUB_USER": ("user", "ana"),
    "JUPYTERHUB_SERVER_NAME": ("server_name", "gpu"),
}


def test_defaults_come_from_the_spawners_variables(monkeypatch):
    for variable, (_, value) in SPAWNER_ENV.items():
        monkeypatch.setenv(variable, str(value))
    app = LmsExtensionApp()
    assert {v: getattr(app, trait) for v, (trait, _) in SPAWNER_ENV.items()} == {
        v: value for v, (_, value) in SPAWNER_ENV.items()}


def test_configuration_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("LMS_SERVICE_URL", "http://from-env/services/lms")
    app = LmsExtensionApp(config=Config({"LmsExtensionApp": {
        "service_url": "http://from-config/services/lms", "forward_interval": 1.5}}))
    assert app.service_url == "http://from-config/services/lms"
    assert app.forward_interval == 1.5


def test_unset_and_empty_variables_leave_the_defaults(monkeypatch):
    for variable in SPAWNER_ENV:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LMS_IDLE_TIMEOUT", "")
    app = LmsExtensionApp()
    assert (app.service_url, app.course, app.idle_timeout) == ("", "", 0)
    assert app.state_dir.endswith("/.local/share/lms")


@pytest.mark.parametrize("value, words", [
    ("an hour", "LMS_IDLE_TIMEOUT: 'an hour' is not a number"),
    ("-5", "LMS_IDLE_TIMEOUT: '-5' is less than 0"),
])
def test_a_bad_variable_is_named(monkeypatch, value, words):
    monkeypatch.setenv("LMS_IDLE_TIMEOUT", value)
    app = LmsExtensionApp()
    with pytest.raises(TraitError, match=words):
        _ = app.idle_timeout


def test_a_bad_setting_is_named():
    with pytest.raises(TraitError, match="LmsExtensionApp.batch_max_bytes: 0 is out of range"):
        LmsExtensionApp(config=Config({"LmsExtensionApp": {"batch_max_bytes": 0}}))


def test_every_setting_is_documented_and_configurable():
    own = LmsExtensionApp.class_own_traits()
    assert len(own) >= 18
    for name, trait in own.items():
        assert trait.metadata.get("config") is True, name
        assert len(trait.help) > 30, name


def _calls(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)]


def test_the_environment_is_read_in_one_place():
    readers = {"os.environ.get", "os.getenv", "environ.get", "getenv"}
    reading = sorted(p.name for p in SERVER.glob("*.py") if readers & set(_calls(p)))
    assert reading == ["app.py"]


def _imports(path) -> set[str]:
    """Absolute names of the modules a file imports (relative ones resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def test_the_user_side_imports_nothing_of_the_service_in_its_sources():
    files = [ROOT / "lms_extension" / "__init__.py", *SERVER.glob("*.py")]
    assert len(files) > 10
    for path in files:
        crossing = sorted(n for n in _imports(path)
                          if n.startswith(("lms_extension.service", "lms_spawner")))
        assert not crossing, (path.name, crossing)


def test_the_user_side_loads_with_the_service_unimportable():
    """Every module of the server extension, and the extension app itself, with
    ``lms_extension.service`` (and the hub side) made unimportable."""
    script = """
import importlib, pkgutil, sys
for blocked in ("lms_extension.service", "lms_spawner", "dockerspawner", "sqlalchemy"):
    sys.modules[blocked] = None
import lms_extension
import lms_extension.server as server
for info in pkgutil.walk_packages(server.__path__, "lms_extension.server."):
    importlib.import_module(info.name)
(point,) = lms_extension._jupyter_server_extension_points()
app = point["app"]()
assert app.name == "lms_extension", app.name
loaded = sorted(m for m, mod in sys.modules.items() if m.startswith("lms_extension") and mod)
print(" ".join(loaded))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    loaded = out.stdout.split()
    assert "lms_extension.server.forwarder" in loaded and "lms_extension.content.wire" in loaded
    assert not [m for m in loaded if m.startswith("lms_extension.service")]
