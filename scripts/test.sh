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
# per-user origins: tests reach <user>.localhost like a browser does (nss-myhostname resolves
# every *.localhost name to the loopback address)
ls /lib/*/libnss_myhostname.so.2 >/dev/null 2>&1 || need_apt+=(libnss-myhostname)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> installing ${need_apt[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}"
fi
grep -qE '^hosts:.*myhostname' /etc/nsswitch.conf \
  || sed -i -E 's/^(hosts:[[:space:]]+files)/\1 myhostname/' /etc/nsswitch.conf
bash scripts/setup-postgres.sh   # the LMS service tests also run on PostgreSQL
# the air-gapped build test (tests/images) builds from a folder prepared here, while the package
# indexes are reachable, so that the test itself reaches nothing; prepared again when the image
# inputs change
export LMS_TEST_OFFLINE_DIR="${LMS_TEST_OFFLINE_DIR:-/var/cache/lms-test-offline}"
if [ ! -f "$LMS_TEST_OFFLINE_DIR/manifest.json" ] || [ -n "$(find images setup.py pyproject.toml \
    -newer "$LMS_TEST_OFFLINE_DIR/manifest.json" -type f -print -quit)" ]; then
  echo "==> preparing $LMS_TEST_OFFLINE_DIR for the offline image build test"
  rm -rf "$LMS_TEST_OFFLINE_DIR"
  .venv/bin/python images/build.py --prepare-offline "$LMS_TEST_OFFLINE_DIR" --only lms/base
fi
exec .venv/bin/python -m pytest "$@"
