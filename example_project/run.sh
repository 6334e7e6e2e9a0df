#!/usr/bin/env bash
# The demo on SQLite, from a fresh machine. Serves http://127.0.0.1:8000/ unless
# DEMO_ADDRESS says otherwise (host:port, e.g. DEMO_ADDRESS=127.0.0.1:8001 or 192.168.1.20:8000).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[example]'
unset DATABASE_URL
export DEMO_ADDRESS=${DEMO_ADDRESS:-127.0.0.1:8000}
host=${DEMO_ADDRESS%:*}
port=${DEMO_ADDRESS##*:}
case $host in 0.0.0.0|"[::]") host=127.0.0.1 ;; esac
.venv/bin/python manage.py migrate --no-input
.venv/bin/python manage.py setup_demo --base-url "http://$host:$port" --base-url "http://localhost:$port"
cat <<MESSAGE

  The demo is at http://$host:$port/
    demo user:  demo / demo-password
    admin:      admin / admin-password  (http://$host:$port/admin/)
  Another address: DEMO_ADDRESS=host:port bash example_project/run.sh
  Stop it with Ctrl-C.

MESSAGE
exec .venv/bin/python manage.py runserver "$DEMO_ADDRESS"
