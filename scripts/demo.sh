#!/usr/bin/env bash
# Run the platform on this machine with the embedded defaults: the demo course from
# content_repo/ (published to a local git remote), SQLite, local accounts, hub on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh

export LMS_STATE_DIR="${LMS_STATE_DIR:-$PWD/.state}"
mkdir -p "$LMS_STATE_DIR"
if [ -z "${LMS_CONTENT_REPO:-}" ]; then
  export LMS_CONTENT_REPO="$LMS_STATE_DIR/content.git"
  .venv/bin/python scripts/publish_content.py content_repo "$LMS_CONTENT_REPO"
fi

cat <<MSG

  The course platform is starting at http://127.0.0.1:${LMS_HUB_PORT:-8000}/
  Sign up with a user name and a password of your own (8+ characters), log in, pick a lesson.
  Admins: set LMS_ADMIN_USERS=name before starting, then sign up as that name.
  Progress, cohorts and surveys: http://127.0.0.1:${LMS_HUB_PORT:-8000}/services/lms/
  Stop with Ctrl-C; lesson containers keep running until stopped from the hub.

MSG
exec .venv/bin/jupyterhub -f hub_config/jupyterhub_config.py
