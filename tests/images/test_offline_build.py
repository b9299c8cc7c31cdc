"""Air-gapped image builds: ``images/build.py --prepare-offline DIR`` fetches what the builds
need while online; ``--offline DIR`` then builds with no network at all (the whole build.py
runs in a network namespace of its own, and ``docker build --network none``).

The images are built under test prefixes (``--tag-prefix``), so lms/* are left alone. Preparing
DIR for the lms/base chain takes about 1 minute (76 MB of Debian packages, 137 MB of wheels);
the offline build of lms/debian-python and lms/base about 2.5 minutes on 2 cores. Preparing
is the one step that reaches the package indexes: the README's test command (scripts/test.sh)
does it beforehand and names the folder in LMS_TEST_OFFLINE_DIR; the test itself reaches no
network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..hubctl import ROOT

pytestmark = pytest.mark.docker

BUILD = [sys.executable, str(ROOT / "images" / "build.py")]
LOCK = ["flock", "/tmp/lms-images.lock"]  # build.py prunes old lms images after a build
PREFIX = "lmstest-offline/"
MISSING_PREFIX = "lmstest-missing/"
OFFLINE = ["unshare", "--net"]  # no network interface but loopback, for everything build.py runs


def images_under(prefix: str) -> list[str]:
    out = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
                         capture_output=True, text=True, check=True).stdout.split()
    return [name for name in out if name.startswith(prefix)]


def remove_images(prefix: str) -> None:
    names = images_under(prefix)
    if names:
        subprocess.run(["docker", "rmi", "--force", *names], capture_output=True)


def build(*args: str, offline: bool = False) -> subprocess.CompletedProcess:
    cmd = LOCK + (OFFLINE if offline else []) + ["nice", "-n", "10"] + BUILD + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1200)


@pytest.fixture(scope="module")
def prepared() -> Path:
    if shutil.which("debootstrap") is None or shutil.which("unshare") is None:
        pytest.fail("the offline build test needs debootstrap and unshare (util-linux)")
    folder = Path(os.environ.get("LMS_TEST_OFFLINE_DIR", "/var/cache/lms-test-offline"))
    if not (folder / "manifest.json").is_file():
        pytest.fail(f"{folder} is not prepared: run the tests with scripts/test.sh, or first "
                    f"images/build.py --prepare-offline {folder} --only lms/base")
    return folder


@pytest.fixture(scope="module")
def offline_base(prepared):
    remove_images(PREFIX)
    remove_images(MISSING_PREFIX)
    done = build("--offline", str(prepared), "--only", "lms/base", "--tag-prefix", PREFIX,
                 offline=True)
    yield done
    remove_images(MISSING_PREFIX)
    remove_images(PREFIX)


def test_prepare_fetches_debian_packages_and_the_wheels_for_the_image(prepared):
    assert (prepared / "debian" / "bookworm.tgz").stat().st_size > 10_000_000
    wheels = {p.name.split("-")[0].lower() for p in (prepared / "wheels" / "base").glob("*.whl")}
    assert {"jupyterhub", "jupyterlab", "tornado", "nbgitpuller"} <= wheels
    # the repository's own wheel is built afresh by each build, not kept from preparing
    assert "lms_platform" not in wheels
    assert any((prepared / "host").glob("setuptools-*.whl"))


def test_offline_build_gives_a_working_lesson_image(offline_base):
    assert offline_base.returncode == 0, offline_base.stdout + offline_base.stderr
    assert f"built {PREFIX}debian-python:bookworm" in offline_base.stdout
    assert f"built {PREFIX}base:latest" in offline_base.stdout
    run = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", f"{PREFIX}base:latest", "python", "-c",
         "import jupyterhub, jupyterlab, lms_extension; print('ok', jupyterhub.__version__)"],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    import jupyterhub

    assert run.stdout.split() == ["ok", jupyterhub.__version__]
    # the same inputs make the same image, online or not: an online run finds it up to date
    again = build("--only", "lms/base", "--tag-prefix", PREFIX)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{PREFIX}base:latest is up to date" in again.stdout


def test_a_wheel_missing_from_the_wheelhouse_fails_naming_the_package(prepared, offline_base,
                                                                        tmp_path):
    assert offline_base.returncode == 0
    broken = tmp_path / "offline"
    shutil.copytree(prepared, broken, copy_function=lambda src, dst: Path(dst).hardlink_to(src))
    for wheel in (broken / "wheels" / "base").glob("tornado-*.whl"):
        wheel.unlink()
    done = build("--offline", str(broken), "--only", "lms/base", "--tag-prefix", MISSING_PREFIX,
                 "--base-image", f"{PREFIX}debian-python:bookworm", offline=True)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"build.py: error: offline build of {MISSING_PREFIX}base:latest")
    assert "no wheel for tornado" in last and "--prepare-offline" in last
    assert images_under(MISSING_PREFIX) == []


def test_offline_without_a_prepared_folder_says_how_to_make_one(tmp_path):
    done = build("--offline", str(tmp_path), "--only", "lms/base", "--tag-prefix",
                 MISSING_PREFIX, offline=True)
    assert done.returncode == 1
    assert f"was not prepared with build.py --prepare-offline {tmp_path}" in done.stderr
