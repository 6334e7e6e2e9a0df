#!/usr/bin/env bash
# The demo on SQLite, from a fresh machine: http://127.0.0.1:8000/
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[example]'
unset DATABASE_URL
.venv/bin/python manage.py migrate --no-input
address=${DEMO_ADDRESS:-127.0.0.1:8000}
.venv/bin/python manage.py setup_demo --base-url "http://$address" --base-url "http://localhost:${address##*:}"
exec .venv/bin/python manage.py runserver "$address"
