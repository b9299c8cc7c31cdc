#!/usr/bin/env bash
# Install everything the tests need on this machine (see setup-host.sh), then run them all.
# Extra arguments go to pytest, e.g.  scripts/test.sh -k restart
set -euo pipefail
cd "$(dirname "$0")/.."
LMS_EXTRAS=hub,lab,test bash scripts/setup-host.sh
# the browser tests drive Debian's chromium (with CJK fonts, so that screenshots of the
# Korean interface are readable)
need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || need_apt+=(fonts-noto-cjk)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> installing ${need_apt[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}"
fi
bash scripts/setup-postgres.sh   # the LMS service tests also run on PostgreSQL
exec .venv/bin/python -m pytest "$@"
