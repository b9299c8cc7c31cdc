#!/usr/bin/env bash
# Run the platform on this machine with the embedded defaults: the demo course from
# content_repo/ (published to a local git remote), SQLite, local accounts, hub on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh

export LMS_STATE_DIR="${LMS_STATE_DIR:-$PWD/.state}"
mkdir -p "$LMS_STATE_DIR"
admin_note=""
if [ "${LMS_AUTHENTICATOR:-native}" = native ]; then
  # local accounts: the hub creates the admin accounts itself at its first start and prints
  # their generated passwords once (with OAuth the provider owns the names: no default there)
  export LMS_ADMIN_USERS="${LMS_ADMIN_USERS:-admin}"
  admin_note="
  Admin: ${LMS_ADMIN_USERS} (LMS_ADMIN_USERS). At the first start the hub creates this account and
  prints its generated password once, below (\"The admin account ... was created\"); it is not
  shown again. Log in with it, then change it at /hub/change-password. Nobody can sign up
  under an admin name; a lost password: LMS_RESET_ADMIN_PASSWORDS=name for one start."
fi
if [ -z "${LMS_CONTENT_REPO:-}" ]; then
  export LMS_CONTENT_REPO="$LMS_STATE_DIR/content.git"
  .venv/bin/python scripts/publish_content.py content_repo "$LMS_CONTENT_REPO"
fi

cat <<MSG

  The course platform is starting at ${LMS_SUBDOMAIN_HOST:-http://localhost:${LMS_HUB_PORT:-8000}}/
  (each learner's server runs at <name>.localhost, its own origin: open the platform as
  localhost, not 127.0.0.1, so that one login serves them all)
  Sign up with a user name and a password of your own (8+ characters), log in, pick a lesson.${admin_note}
  Progress, cohorts and surveys: the hub's Services menu -> lms
  Stop with Ctrl-C; lesson containers keep running until stopped from the hub.

MSG
exec .venv/bin/jupyterhub -f hub_config/jupyterhub_config.py
