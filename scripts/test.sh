#!/usr/bin/env bash
# Set everything up, then run the lint and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check raybatch tests scripts
.venv/bin/ruff format --check raybatch tests scripts
# Ray's token auth stays on (tests/conftest.py gives the run a token of its own). Embedded Ray
# binds loopback only; the multi-node test clusters do the same (tests/cluster.py).
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
exec .venv/bin/python -m pytest -q "$@"
