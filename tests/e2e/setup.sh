#!/usr/bin/env bash
# Makes this machine ready for the end-to-end tests in tests/e2e, quietly and idempotently:
#   - Debian's Chromium at /usr/bin/chromium (Playwright drives it; it never downloads a browser),
#   - the Node client's modules (openid-client, pinned by package-lock.json) in tests/e2e/node.
# Safe to run on every test run: each step is skipped when already done.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

log=$(mktemp)
trap 'rm -f "$log"' EXIT
quietly() {
    # Run "$@" with its output kept aside; show it only if the command fails.
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "tests/e2e/setup.sh: failed: $*" >&2
        exit 1
    fi
}

if [ ! -x /usr/bin/chromium ]; then
    echo "e2e setup: installing Debian's chromium"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "e2e setup: chromium is missing; run as root or install sudo" >&2; exit 1; }
        sudo=(sudo)
    fi
    quietly "${sudo[@]}" apt-get update -qq
    quietly "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    [ -x /usr/bin/chromium ] || { echo "e2e setup: /usr/bin/chromium still missing after apt-get" >&2; exit 1; }
fi

node_dir=$here/node
marker=$node_dir/node_modules/.package-lock.json  # written by npm ci
if [ ! -d "$node_dir/node_modules" ] || [ ! -f "$marker" ] || [ "$marker" -ot "$node_dir/package-lock.json" ]; then
    command -v npm >/dev/null || { echo "e2e setup: npm is missing (Node.js >= 20 is needed)" >&2; exit 1; }
    echo "e2e setup: npm ci in tests/e2e/node"
    cd "$node_dir"
    quietly npm ci --no-audit --no-fund --loglevel=error
    touch "$marker"
fi
