#!/usr/bin/env bash
# Set everything up, then run the lint and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check raybatch tests scripts
.venv/bin/ruff format --check raybatch tests scripts
# Tests start one local Ray and keep its default token auth; bind it to loopback only.
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
exec .venv/bin/python -m pytest -q "$@"
