#!/usr/bin/env bash
# Build the JupyterLab extension (lms_extension/lab, TypeScript) into lms_extension/labextension,
# the prebuilt form that setup.py installs, so that the lesson images need no Node.js.
# Needs npm and a Python with JupyterLab (default: .venv), whose core package versions the
# build shares with JupyterLab at run time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
cd "$root/lms_extension/lab"

lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat node_modules/.lms-lock-sum 2>/dev/null)" != "$lock_sum" ]; then
  echo "==> installing the labextension's npm packages"
  npm ci --no-fund --no-audit --loglevel=error
  echo "$lock_sum" > node_modules/.lms-lock-sum
fi
core="$("$python" -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')"
npx tsc -b
rm -rf ../labextension
node node_modules/@jupyterlab/builder/lib/build-labextension.js --core-path "$core" . >/dev/null
echo "==> labextension built into lms_extension/labextension"
