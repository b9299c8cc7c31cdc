#!/usr/bin/env bash
# A local PostgreSQL server for the LMS service tests: installs Debian's postgresql when it is
# missing, starts its cluster, and makes the role lms_test (password lms_test, may create
# databases) that the tests use on 127.0.0.1:5432. Safe to run again.
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null; then
  echo "==> installing PostgreSQL"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
fi
version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  pg_createcluster "$version" main
fi
if ! pg_ctlcluster "$version" main status >/dev/null 2>&1; then
  echo "==> starting PostgreSQL $version"
  pg_ctlcluster "$version" main start
fi
for _ in $(seq 60); do
  su postgres -c "psql -qAtc 'SELECT 1'" >/dev/null 2>&1 && break
  sleep 0.5
done
su postgres -c "psql -qAt" >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lms_test') THEN
    CREATE ROLE lms_test LOGIN PASSWORD 'lms_test' CREATEDB;
  END IF;
END $$;
SQL
if ! su postgres -c "psql -qAtc \"SELECT 1 FROM pg_database WHERE datname = 'lms_test'\"" | grep -q 1; then
  su postgres -c "createdb -O lms_test lms_test"
fi
