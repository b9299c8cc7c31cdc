#!/usr/bin/env bash
# Prepare this machine for the platform: system packages, the Docker engine, the proxy, the
# Python environment in .venv and the lesson images. Safe to run again: it skips what is done.
# Run as root on Debian (bookworm or newer).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

need_apt=()
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
command -v git >/dev/null || need_apt+=(git)
command -v npm >/dev/null || need_apt+=(nodejs npm)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing system packages: ${need_apt[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}"
fi

if ! docker info >/dev/null 2>&1; then
  say "starting the Docker engine"
  nohup dockerd >/var/log/lms-dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/lms-dockerd.log" >&2; exit 1; }
fi

if ! command -v configurable-http-proxy >/dev/null; then
  say "installing configurable-http-proxy"
  npm install -g --no-fund --no-audit configurable-http-proxy >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  say "creating the Python environment in .venv"
  python3 -m venv .venv
fi
# the hub side and the user side; the tests add the test tools (LMS_EXTRAS). The package build
# compiles the JupyterLab extension (scripts/build_labextension.py, with Node.js from the build
# requirements), or finds it up to date.
extras="${LMS_EXTRAS:-hub,lab}"
say "installing the platform into .venv ($extras), JupyterLab extension included"
.venv/bin/pip install -q -e ".[$extras]"

say "building the lesson images (skips those up to date)"
.venv/bin/python images/build.py
