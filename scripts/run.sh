#!/usr/bin/env bash
# Install (first run only) and run the whole system locally: engine, S3, SMTP sink, platform, chat server.
# Extra arguments go to the launcher, e.g. `bash scripts/run.sh --demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
BOOTSTRAP_EXTRAS="" source scripts/bootstrap.sh
exec .venv/bin/python -m scripts.dev "$@"
