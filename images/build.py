#!/usr/bin/env python3
"""Build the lesson images, skipping those that are up to date.

    python3 images/build.py [--force] [--only lms/scipy] [--base-image IMAGE]
                            [--jupyterhub-version V] [--debian-mirror URL]
                            [--ca-bundle PATH] [--torch SPEC_OR_WHEEL] [--verbose]
                            [--tag-prefix PREFIX] [--prepare-offline DIR | --offline DIR]

Builds lms/debian-python:bookworm (debootstrap; only when lms/base is built on it and it is
missing), then lms/base:latest (images/base), lms/scipy:latest (images/scipy) and
lms/pytorch:latest (images/pytorch); see
images/README.md. Each lms image carries a hash of its inputs in the label
``org.lms-platform.inputs``; an image whose label matches is not built again.
``--prepare-offline DIR`` fetches everything the builds need into DIR, and ``--offline DIR``
builds from it with no network (images/offline.py).

Run as root: it calls ``docker`` and ``debootstrap``. Standard library only.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import hashlib
import http.server
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import offline  # noqa: E402  (images/offline.py)

IMAGES_DIR = Path(__file__).resolve().parent
REPO_ROOT = IMAGES_DIR.parent
DEBIAN_IMAGE = "lms/debian-python:bookworm"
DEBIAN_PACKAGES = "python3,python3-venv,ca-certificates,git"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
INPUTS_LABEL = "org.lms-platform.inputs"
IMAGE_LABEL = "org.lms-platform.image"  # set by the Dockerfiles, on every layer
# What goes into the repository's wheel (and so into the inputs of lms/base); the labextension's
# TypeScript build folders stay out (its built form, lms_extension/labextension, goes in).
WHEEL_SOURCES = ("setup.py", "pyproject.toml", "README.md", "lms_extension", "spawner",
                 "scripts/build_labextension.py")
WHEEL_LEFT_OUT = ("node_modules", "lib", "build-test", "__pycache__")
LABEXTENSION = REPO_ROOT / "lms_extension" / "labextension"
BUILD_LABEXTENSION = REPO_ROOT / "scripts" / "build_labextension.py"
LOG_TAIL = 60


@dataclass(frozen=True)
class Image:
    name: str  # repository:tag
    context: str  # folder under images/ holding the Dockerfile
    parent: str | None  # the lms image it is built on; None: --base-image
    with_wheel: bool = False  # whether its context needs the repository's wheel
    with_torch: bool = False  # whether it takes the TORCH build argument (--torch)


IMAGES = (
    Image("lms/base:latest", "base", None, with_wheel=True),
    Image("lms/scipy:latest", "scipy", "lms/base:latest"),
    Image("lms/pytorch:latest", "pytorch", "lms/scipy:latest", with_torch=True),
)


def named(prefix: str) -> tuple[Image, ...]:
    """The images under another repository prefix than ``lms/`` (--tag-prefix)."""
    def rename(name: str | None) -> str | None:
        return prefix + name.removeprefix("lms/") if name else name
    return tuple(Image(rename(i.name), i.context, rename(i.parent), i.with_wheel, i.with_torch)
                 for i in IMAGES)


# A CPU-only PyTorch wheel that some machines keep locally; used when --torch is not given.
LOCAL_TORCH_WHEELS = Path("/opt/wheels")


def default_torch() -> str:
    """A local CPU wheel of torch for this Python, else ``torch`` from the package index."""
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    wheels = sorted(LOCAL_TORCH_WHEELS.glob(f"torch-*+cpu-{tag}-{tag}-*linux*_x86_64.whl"))
    return str(wheels[-1]) if wheels else "torch"


def torch_choice(spec: str) -> tuple[str, Path | None]:
    """What ``--torch`` chose, as it enters the inputs hash, and the wheel file if it is one.

    A requirement is hashed as it is; a wheel by its name and content."""
    if not spec.endswith(".whl"):
        return spec, None
    path = Path(spec)
    if not path.is_file():
        raise BuildError(f"--torch: wheel {spec} does not exist")
    digest = hashlib.sha256()
    with path.open("rb") as wheel:
        for block in iter(functools.partial(wheel.read, 1 << 20), b""):
            digest.update(block)
    return f"wheel {path.name} sha256:{digest.hexdigest()}", path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve_on_loopback(path: Path):
    """Serve one file at a loopback URL for the length of a build (which uses the host's
    network), so that pip in the image downloads it and no image layer keeps a copy."""
    with tempfile.TemporaryDirectory(prefix="lms-serve-") as folder:
        (Path(folder) / path.name).symlink_to(path.resolve())
        handler = functools.partial(_QuietHandler, directory=folder)
        with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                yield f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
            finally:
                server.shutdown()
                thread.join()


class BuildError(Exception):
    """A step failed; ``tail`` holds the last lines of its output."""

    def __init__(self, message: str, tail: list[str] | None = None):
        super().__init__(message)
        self.tail = tail or []
        self.output = self.tail


def run_logged(cmd: list[str], verbose: bool, *, what: str, stdin=None, env=None) -> None:
    """Run ``cmd``, streaming its output when ``verbose``; raise BuildError on failure."""
    tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL)
    with subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", env=env) as proc:
        for line in proc.stdout:
            tail.append(line.rstrip("\n"))
            if verbose:
                print(line, end="", flush=True)
    if proc.returncode != 0:
        error = BuildError(f"{what} failed (exit status {proc.returncode})",
                           [] if verbose else list(tail))
        error.output = list(tail)
        raise error


def inspect(name: str) -> dict | None:
    """``docker image inspect`` of one image, or None when it does not exist."""
    proc = subprocess.run(["docker", "image", "inspect", name], capture_output=True, text=True)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def image_id(name: str) -> str:
    info = inspect(name)
    if info is None:  # a base image given with --base-image may still have to be pulled
        print(f"pulling {name}…", flush=True)
        subprocess.run(["docker", "pull", name], capture_output=True)
        info = inspect(name)
    if info is None:
        raise BuildError(f"base image {name} is neither present nor pullable")
    return info["Id"]


def source_files() -> list[Path]:
    """The repository files that make up the wheel, sorted, without bytecode."""
    files = []
    for entry in WHEEL_SOURCES:
        path = REPO_ROOT / entry
        candidates = path.rglob("*") if path.is_dir() else [path]
        files += [p for p in candidates if p.is_file() and p.suffix not in (".pyc", ".tsbuildinfo")
                  and not set(WHEEL_LEFT_OUT) & set(p.relative_to(REPO_ROOT).parts[1:])]
    return sorted(files)


def inputs_hash(image: Image, build_args: dict[str, str], base_id: str) -> str:
    """Hash of everything an image is built from."""
    digest = hashlib.sha256()

    def add(kind: str, name: str, data: bytes) -> None:
        digest.update(f"{kind}\0{name}\0{len(data)}\0".encode())
        digest.update(data)

    for path in sorted((IMAGES_DIR / image.context).rglob("*")):
        if path.is_file():
            add("context", path.relative_to(IMAGES_DIR).as_posix(), path.read_bytes())
    for key, value in sorted(build_args.items()):
        add("arg", key, value.encode())
    add("base", "id", base_id.encode())
    if image.with_wheel:
        # the built labextension is left out: its sources and lock file are in, and webpack's
        # output differs with the checkout's path, which would rebuild the images needlessly
        for path in source_files():
            if LABEXTENSION not in path.parents:
                add("source", path.relative_to(REPO_ROOT).as_posix(), path.read_bytes())
    return digest.hexdigest()


def remove_tree(path: Path) -> None:
    """Delete a scratch root file system, unmounting anything left mounted inside it."""
    prefix = str(path) + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, reverse=True):
        subprocess.run(["umount", "--lazy", point], check=False)
    with open("/proc/self/mounts") as mounts:
        if any(line.split()[1].startswith(prefix) for line in mounts):
            print(f"warning: {path} still has mounts; not deleting it", file=sys.stderr)
            return
    shutil.rmtree(path, ignore_errors=True)


def build_debian(args: argparse.Namespace) -> None:
    """debootstrap a minimal bookworm (from the mirror, or from the prepared tarball with
    --offline) and import it as args.debian_image."""
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed (apt-get install debootstrap)")
    scratch = Path(tempfile.mkdtemp(prefix="lms-rootfs-", dir="/var/tmp"))
    rootfs = scratch / "rootfs"
    try:
        if args.offline:
            cmd = offline.debootstrap_command(args.offline, DEBIAN_PACKAGES, rootfs)
        else:
            cmd = ["debootstrap", "--variant=minbase", f"--include={DEBIAN_PACKAGES}",
                   "bookworm", str(rootfs), args.debian_mirror]
        run_logged(cmd, args.verbose, what="debootstrap")
        # Downloaded packages and package lists are not needed in the image.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / junk).glob("*"):
                if path.is_file():
                    path.unlink()
        tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
                               stdout=subprocess.PIPE)
        try:
            run_logged(["docker", "import", "--change", 'CMD ["/bin/bash"]', "-",
                        args.debian_image], args.verbose, what="docker import",
                   stdin=tar.stdout)
        finally:
            tar.stdout.close()
            if tar.wait() != 0:
                raise BuildError("tar of the root file system failed")
    finally:
        remove_tree(scratch)


def build_wheel(dest: Path, verbose: bool, offline_dir: Path | None = None) -> None:
    """Build the repository's wheel into ``dest`` from a copy of its sources, so that
    the build leaves nothing (build/, *.egg-info) behind in the repository. The JupyterLab
    extension is built (or found up to date) in the repository first, where its npm packages
    are kept, so that the wheel's own build step finds it up to date in the copy. Offline,
    pip takes the build requirements from the prepared ``host/`` wheels."""
    env = None
    if offline_dir:
        env = dict(os.environ, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(offline_dir / offline.HOST))
    run_logged([sys.executable, str(BUILD_LABEXTENSION)], verbose,
               what="building the JupyterLab extension")
    with tempfile.TemporaryDirectory(prefix="lms-wheel-") as stage:
        for path in source_files():
            target = Path(stage) / path.relative_to(REPO_ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        run_logged([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dest), stage],
                   verbose, what="building the wheel of the repository", env=env)


def build_image(image: Image, args: argparse.Namespace, build_args: dict[str, str],
                digest: str) -> None:
    with tempfile.TemporaryDirectory(prefix="lms-context-") as tmp:
        context = Path(tmp) / image.context
        shutil.copytree(IMAGES_DIR / image.context, context)
        # Always present, so the Dockerfiles can COPY it; empty means "no bundle needed".
        bundle = context / "ca-bundle.crt"
        if args.ca_bundle:
            shutil.copyfile(args.ca_bundle, bundle)
        else:
            bundle.touch()
        if image.with_wheel:
            build_wheel(context / "wheels", args.verbose, args.offline)
        # Always present; offline, the image's wheelhouse, from which pip installs everything.
        wheels = context / "wheelhouse"
        if args.offline:
            shutil.copytree(offline.wheelhouse(args.offline, image.context), wheels)
        else:
            wheels.mkdir()
        wheel = args.torch_wheel if image.with_torch else None
        if wheel and args.offline:  # prepared into the wheelhouse; pip installs it from there
            if not (wheels / wheel.name).is_file():
                raise BuildError(f"offline build of {image.name}: the wheelhouse has no "
                                 f"{wheel.name}: prepare it again with this --torch")
            build_args = dict(build_args, TORCH=f"/tmp/wheelhouse/{wheel.name}")
            wheel = None
        served = serve_on_loopback(wheel) if wheel else contextlib.nullcontext(None)
        with served as url:
            if url:  # the wheel's URL, valid during this build only (so not in the hash)
                build_args = dict(build_args, TORCH=url)
            _docker_build(image, args, build_args, digest, context)


def _docker_build(image: Image, args: argparse.Namespace, build_args: dict[str, str],
                  digest: str, context: Path) -> None:
    network = "none" if args.offline else "host"
    cmd = ["docker", "build", "--network", network, "--force-rm", "--tag", image.name,
           "--label", f"{INPUTS_LABEL}={digest}"]
    if args.force:  # otherwise the build cache would hand back the same image
        cmd.append("--no-cache")
    for key, value in build_args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    # The classic builder: the docker CLI defaults to BuildKit (buildx), which an
    # older engine without the buildx plugin cannot use.
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    try:
        run_logged(cmd + [str(context)], args.verbose, what=f"docker build of {image.name}",
                   env=env)
    except BuildError as error:
        reason = args.offline and offline.explain_failure(error.output, image.name, args.offline)
        if reason:
            raise BuildError(reason, error.tail) from None
        raise


def jupyterhub_version(flag: str | None) -> str:
    if flag:
        return flag
    try:
        return importlib.metadata.version("jupyterhub")
    except importlib.metadata.PackageNotFoundError:
        raise BuildError("no JupyterHub version: pass --jupyterhub-version V, or run "
                         "build.py with a Python that has jupyterhub installed") from None


def resolve(name: str, images=IMAGES) -> Image:
    for image in images:
        if name in (image.name, image.name.split(":")[0], image.context):
            return image
    raise BuildError(f"unknown image {name!r}; known: {', '.join(i.name for i in images)}")


def plan(args: argparse.Namespace, missing_parents_only: bool = True) -> list[Image]:
    """The lms images to consider, parents first."""
    if not args.only:
        return list(args.images)
    only = args.only if args.only.startswith(args.tag_prefix) else \
        args.tag_prefix + args.only.removeprefix("lms/")
    chain = [resolve(only, args.images)]
    while chain[0].parent:
        chain.insert(0, resolve(chain[0].parent, args.images))
    if not missing_parents_only:
        return chain
    # With --only, parents are built only when they are missing.
    return [i for i in chain[:-1] if inspect(i.name) is None] + chain[-1:]


def prepare_offline(args: argparse.Namespace) -> None:
    """Fetch into args.prepare_offline everything that --offline needs (images/offline.py)."""
    images = plan(args, missing_parents_only=False)
    hub_version = jupyterhub_version(args.jupyterhub_version) \
        if any(i.parent is None for i in images) else None
    offline.prepare(args, images, hub_version=hub_version, packages=DEBIAN_PACKAGES,
                    build_wheel=build_wheel, torch_choice=torch_choice,
                    run=lambda cmd, what: run_logged(cmd, args.verbose, what=what))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--only", metavar="NAME",
                        help="build this image (and its parents where they are missing)")
    parser.add_argument("--base-image", default=DEBIAN_IMAGE, metavar="IMAGE",
                        help=f"image lms/base is built on (default {DEBIAN_IMAGE})")
    parser.add_argument("--jupyterhub-version", metavar="V",
                        help="JupyterHub version for the images (default: the installed one)")
    parser.add_argument("--debian-mirror", default=DEFAULT_MIRROR, metavar="URL",
                        help=f"Debian mirror for debootstrap (default {DEFAULT_MIRROR})")
    parser.add_argument("--ca-bundle", type=Path, metavar="PATH",
                        help=f"CA bundle for pip in the builds (default {DEFAULT_CA_BUNDLE} "
                             "if it exists)")
    parser.add_argument("--torch", default=default_torch(), metavar="SPEC_OR_WHEEL",
                        help="what lms/pytorch installs: a pip requirement (torch==2.13.0; "
                             "PyPI's Linux wheels carry CUDA) or a wheel file (default: a "
                             f"CPU wheel in {LOCAL_TORCH_WHEELS} if there is one, else torch)")
    parser.add_argument("--verbose", action="store_true", help="show the build output")
    parser.add_argument("--tag-prefix", default="lms/", metavar="PREFIX",
                        help="repository prefix of the images (default lms/; e.g. test/ "
                             "builds test/base:latest on test/debian-python:bookworm)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--prepare-offline", type=Path, metavar="DIR",
                      help="fetch everything the builds need into DIR (Debian packages, "
                           "wheels) and build nothing")
    mode.add_argument("--offline", type=Path, metavar="DIR",
                      help="build with no network, from a DIR made by --prepare-offline")
    args = parser.parse_args()
    args.images = named(args.tag_prefix) if args.tag_prefix != "lms/" else IMAGES
    args.debian_image = args.tag_prefix + DEBIAN_IMAGE.removeprefix("lms/")
    if args.base_image == DEBIAN_IMAGE:
        args.base_image = args.debian_image
    if args.ca_bundle is None and DEFAULT_CA_BUNDLE.is_file():
        args.ca_bundle = DEFAULT_CA_BUNDLE
    started = time.monotonic()
    try:
        if args.ca_bundle and not args.ca_bundle.is_file():
            raise BuildError(f"CA bundle {args.ca_bundle} does not exist")
        if not shutil.which("docker") or subprocess.run(["docker", "info"],
                                                         capture_output=True).returncode:
            raise BuildError("cannot reach the Docker engine (is dockerd running?)")
        if args.prepare_offline:
            prepare_offline(args)
            print(f"done in {time.monotonic() - started:.1f} s", flush=True)
            return 0
        if args.offline:
            prepared = offline.read_manifest(args.offline)
        images = plan(args)
        with_base = any(i.parent is None for i in images)
        hub_version = jupyterhub_version(args.jupyterhub_version) if with_base else ""
        if args.offline and with_base and prepared.get("jupyterhub_version") != hub_version:
            raise BuildError(f"{args.offline} was prepared for JupyterHub "
                             f"{prepared.get('jupyterhub_version')}, not {hub_version}")
        with_debian = with_base and args.base_image == args.debian_image
        total = len(images) + with_debian
        step = 0
        if with_debian:
            step += 1
            if inspect(args.debian_image) is None:
                print(f"building {args.debian_image} ({step}/{total})…", flush=True)
                t0 = time.monotonic()
                build_debian(args)
                print(f"built {args.debian_image} in {time.monotonic() - t0:.0f} s", flush=True)
            else:
                print(f"{args.debian_image} exists", flush=True)
        built = False
        for image in images:
            step += 1
            base = image.parent or args.base_image
            build_args = {"BASE_IMAGE": base}
            if image.parent is None:
                build_args["JUPYTERHUB_VERSION"] = hub_version
            if image.with_torch:
                build_args["TORCH"], args.torch_wheel = torch_choice(args.torch)
            digest = inputs_hash(image, build_args, image_id(base))
            current = inspect(image.name)
            labels = (current or {}).get("Config", {}).get("Labels") or {}
            if not args.force and labels.get(INPUTS_LABEL) == digest:
                print(f"{image.name} is up to date", flush=True)
                continue
            print(f"building {image.name} ({step}/{total})…", flush=True)
            t0 = time.monotonic()
            build_image(image, args, build_args, digest)
            built = True
            print(f"built {image.name} in {time.monotonic() - t0:.0f} s", flush=True)
        if built:  # drop our untagged images: those replaced, leftovers of failed builds
            subprocess.run(["docker", "image", "prune", "--force", "--filter",
                            f"label={IMAGE_LABEL}"], capture_output=True)
    except offline.OfflineError as error:
        print(f"build.py: error: {error}", file=sys.stderr)
        return 1
    except BuildError as error:
        if error.tail:
            print(f"--- last {len(error.tail)} lines of output ---", file=sys.stderr)
            print("\n".join(error.tail), file=sys.stderr)
            print("---", file=sys.stderr)
        print(f"build.py: error: {error}", file=sys.stderr)
        return 1
    print(f"done in {time.monotonic() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
