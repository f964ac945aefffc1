#!/usr/bin/env bash
# Install what the tests need and run everything CI checks: lint, types, the whole pytest suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k auth`.
set -euo pipefail
cd "$(dirname "$0")/.."
BOOTSTRAP_EXTRAS=dev source scripts/bootstrap.sh
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "error: Node.js and npm are needed (the socket tests drive the official socket.io-client; the admin console is built with npm packages)" >&2
  exit 1
fi
lock_stamp="tests/js/node_modules/.installed-$(sha256sum tests/js/package-lock.json | cut -c1-16)"
if [ ! -f "$lock_stamp" ]; then
  npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
  touch "$lock_stamp"
fi
# The browser tests drive Debian's Chromium (Playwright's own browser download cannot run here); CI runs as root.
if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium for the browser tests"
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_ apt-get install -y -qq chromium >/dev/null || { $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq chromium >/dev/null; }
fi
echo "== admin console"; .venv/bin/python -m scripts.console build
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy
echo "== pytest"
set +e
# Three workers by default (pytest-xdist; each starts its own engine, stand-ins and live services): on two
# cores the third uses the time the others wait on processes and sockets; the suite's budget is 6 minutes.
# `loadgroup` keeps the browser tests on one worker (one Chromium, one demo seed). TEST_WORKERS=0: one process.
.venv/bin/python -m pytest -n "${TEST_WORKERS:-3}" --dist loadgroup "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests — that is a failure, not a pass" >&2
fi
exit "$status"
