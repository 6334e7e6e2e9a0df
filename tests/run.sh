#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs into .venv, makes sure
# PostgreSQL is up, then runs lint and mypy, every test (browser, live-server and load tests
# included) on SQLite and on PostgreSQL, the suite on django-oauth-toolkit's development wheel, and
# the comparison with DOT's own PAR; it reports branch coverage of django_oauth_par over all runs.
#
# Plain `pytest` is the quick SQLite subset; `nox -l` lists the version matrix (CI runs it too).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,dev]'
# The end-to-end tests drive Debian's Chromium and an npm client library.
bash tests/e2e/setup.sh

pg_url=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/oauth_par}
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "PostgreSQL is not running: starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict)"
.venv/bin/mypy
echo "== mkdocs" && .venv/bin/mkdocs build --strict --site-dir "$(mktemp -d)"  # not --quiet: it hides the warnings --strict counts

rm -f .coverage .coverage.*
run_suite() {
    local name=$1 url=$2
    echo "== pytest on $name (every test but the DOT-development comparison)"
    local status=0
    DATABASE_URL=$url COVERAGE_FILE=.coverage.$name \
        .venv/bin/python -m pytest -m "not dotnext" --cov=django_oauth_par --cov-branch --cov-report= \
        "${@:3}" || status=$?
    if [ "$status" -eq 5 ]; then
        echo "pytest collected no tests on $name: that is a failure" >&2
        exit 1
    fi
    [ "$status" -eq 0 ] || exit "$status"
}
run_suite sqlite "" "$@"
run_suite postgres "$pg_url" "$@"

# DOT's development wheel (../shared/wheels/ or $DOT_DEV_WHEEL): the suite on SQLite and PostgreSQL,
# then the same attacks against DOT's own PAR and this app. nox exits non-zero when pytest does,
# "no tests collected" (exit 5) included.
echo "== DOT's development wheel"
COVERAGE_FILE=$PWD/.coverage.dotnext TEST_POSTGRES_URL=$pg_url \
    .venv/bin/nox -s "dotnext(py3.11-django5.2)" compare -- --cov=django_oauth_par --cov-branch \
    --cov-report= --cov-append

echo "== coverage of django_oauth_par (both databases, DOT 3.4 and DOT's development wheel)"
.venv/bin/python -m coverage combine --quiet .coverage.sqlite .coverage.postgres .coverage.dotnext
.venv/bin/python -m coverage report --fail-under=95
