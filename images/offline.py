"""Air-gapped builds of the lesson images: what ``build.py --prepare-offline DIR`` fetches, and
how ``build.py --offline DIR`` uses it. See images/README.md, "Air-gapped builds".

DIR holds, once prepared:

    manifest.json                what it was prepared for (images, Python, platform, versions)
    debian/bookworm.tgz          the .debs debootstrap needs (``debootstrap --make-tarball``)
    wheels/<context>/*.whl       each image's wheelhouse (base, scipy, pytorch): every wheel
                                 that its ``pip install`` needs, for the image's Python/platform
    host/*.whl                   the build requirements of the repository's wheel (pyproject.toml),
                                 for the Python that runs build.py

Standard library only.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

MANIFEST = "manifest.json"
DEBIAN_TARBALL = Path("debian") / "bookworm.tgz"
WHEELS = "wheels"
HOST = "host"
# The Python of the bootstrapped Debian bookworm (python3 3.11, glibc 2.36).
DEBIAN_PYTHON = ("3.11", "2.36")
# What pip says when a requirement is not in the wheelhouse, and when a step tried the network.
MISSING = re.compile(r"No matching distribution found for ([^\s;]+)")
NETWORK = re.compile(r"Temporary failure in name resolution|Network is unreachable|"
                     r"Failed to establish a new connection|Could not resolve host")


class OfflineError(Exception):
    """DIR lacks what a build needs, or cannot be prepared."""


def python_target(image: str, debian_image: str) -> tuple[str, str]:
    """(Python version "3.11", glibc version "2.36") of ``image``'s python3."""
    if image == debian_image:
        return DEBIAN_PYTHON
    proc = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python3", image, "-c",
         "import platform, sys; print('%d.%d' % sys.version_info[:2], platform.libc_ver()[1])"],
        capture_output=True, text=True)
    if proc.returncode != 0:
        raise OfflineError(f"cannot run python3 in {image}: {proc.stderr.strip()[-300:]}")
    version, glibc = proc.stdout.split()
    return version, glibc


def platform_options(target: tuple[str, str]) -> list[str]:
    """pip options that fetch wheels for the image instead of this machine."""
    version, glibc = target
    arch = platform.machine()
    # pip takes the platforms as given, without the older manylinux tags they run, so all
    # of them are listed: manylinux_2_<glibc minor> down to manylinux1
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in range(int(glibc.split(".")[1]), 4, -1)]
    platforms += [f"manylinux{tag}_{arch}" for tag in ("2014", "2010", "1")]
    options = ["--only-binary=:all:", "--implementation", "cp", "--python-version", version]
    for tag in platforms:
        options += ["--platform", tag]
    return options


def pip_download(dest: Path, requirements: list[str], options: list[str], run) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
         "--dest", str(dest), *options, *requirements],
        f"pip download into {dest}")


def host_build_requirements(repo_root: Path) -> list[str]:
    with (repo_root / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["build-system"]["requires"]


def make_debian_tarball(dest: Path, packages: str, mirror: str, run) -> None:
    """The .debs of a minimal bookworm with ``packages``, as one tarball for debootstrap."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="lms-debs-", dir="/var/tmp"))
    try:
        run(["nice", "-n", "10", "debootstrap", "--variant=minbase", f"--include={packages}",
             f"--make-tarball={dest}", "bookworm", str(scratch / "rootfs"), mirror],
            "debootstrap --make-tarball")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def debootstrap_command(offline_dir: Path, packages: str, rootfs: Path) -> list[str]:
    """debootstrap from the prepared tarball: no mirror is contacted."""
    tarball = offline_dir / DEBIAN_TARBALL
    if not tarball.is_file():
        raise OfflineError(f"{tarball} is missing: run build.py --prepare-offline "
                                f"{offline_dir} first")
    return ["debootstrap", "--variant=minbase", f"--include={packages}",
            f"--unpack-tarball={tarball}", "bookworm", str(rootfs)]


def write_manifest(offline_dir: Path, manifest: dict) -> None:
    sizes = {}
    for part in sorted(offline_dir.iterdir()):
        files = [part] if part.is_file() else [p for p in part.rglob("*") if p.is_file()]
        sizes[part.name] = sum(p.stat().st_size for p in files)
    manifest["bytes"] = sizes
    (offline_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def read_manifest(offline_dir: Path) -> dict:
    path = offline_dir / MANIFEST
    if not path.is_file():
        raise OfflineError(f"{path} is missing: {offline_dir} was not prepared with "
                                f"build.py --prepare-offline {offline_dir}")
    return json.loads(path.read_text())


def wheelhouse(offline_dir: Path, context: str) -> Path:
    path = offline_dir / WHEELS / context
    if not path.is_dir() or not any(path.glob("*.whl")):
        raise OfflineError(f"{path} has no wheels: run build.py --prepare-offline "
                                f"{offline_dir} for this image first")
    return path


def explain_failure(tail: list[str], image: str, offline_dir: Path) -> str | None:
    """A message naming what an offline build missed, from the end of its output."""
    text = "\n".join(tail)
    missing = MISSING.findall(text)
    if missing:
        return (f"offline build of {image}: the wheelhouse {offline_dir / WHEELS} has no wheel "
                f"for {missing[-1]} (for this image's Python and platform); prepare it again "
                f"with build.py --prepare-offline {offline_dir} and the same options")
    if NETWORK.search(text):
        return (f"offline build of {image}: a build step tried to reach the network, which an "
                f"offline build does not have (docker build --network none)")
    return None


def prepare(args, images, *, hub_version, packages, build_wheel, torch_choice, run) -> None:
    """Fill args.prepare_offline with what ``--offline`` needs to build ``images`` (parents
    first). ``run(cmd, what)`` runs a command; ``build_wheel(dest, verbose)`` builds the
    repository's wheel; ``torch_choice(spec)`` is build.py's reading of --torch."""
    folder = args.prepare_offline
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"images": [i.name for i in images], "base_image": args.base_image}
    if hub_version:
        manifest["jupyterhub_version"] = hub_version
        if args.base_image == args.debian_image:
            print(f"fetching the Debian packages of {args.debian_image}…", flush=True)
            make_debian_tarball(folder / DEBIAN_TARBALL, packages, args.debian_mirror, run)
            manifest["debian_packages"] = packages
        print("fetching the build requirements of the repository's wheel…", flush=True)
        repo_root = Path(__file__).resolve().parent.parent
        pip_download(folder / HOST, host_build_requirements(repo_root), [], run)
    manifest["python"], manifest["glibc"] = target = python_target(args.base_image,
                                                                   args.debian_image)
    options = platform_options(target)
    for image in images:
        print(f"fetching the wheels of {image.name}…", flush=True)
        dest = folder / WHEELS / image.context
        if image.parent is None:
            with tempfile.TemporaryDirectory(prefix="lms-wheel-") as tmp:
                build_wheel(Path(tmp), args.verbose)
                own = next(Path(tmp).glob("*.whl"))
                pip_download(dest, [f"jupyterhub=={hub_version}", f"{own}[lab]"], options, run)
                (dest / own.name).unlink(missing_ok=True)  # built afresh by each build
        requirements = Path(__file__).resolve().parent / image.context / "requirements.txt"
        if requirements.is_file():
            pip_download(dest, ["-r", str(requirements)], options, run)
        if image.with_torch:
            manifest["torch"], wheel = torch_choice(args.torch)
            if wheel:
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(wheel, dest / wheel.name)
            pip_download(dest, [str(wheel) if wheel else args.torch], options, run)
    write_manifest(folder, manifest)
    sizes = ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in manifest["bytes"].items())
    print(f"prepared {folder}: {sizes}", flush=True)
