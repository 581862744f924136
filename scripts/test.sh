#!/usr/bin/env bash
# Set everything up, then run the lint and the whole test suite (slowest tests listed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
# The HTML report's test opens it in Debian's Chromium (driven by Playwright, a dev dependency);
# the live view's test runs the CLI in a real terminal, tmux.
if ! command -v chromium >/dev/null 2>&1 || ! command -v tmux >/dev/null 2>&1; then
  echo "test: installing chromium and tmux" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium tmux >/dev/null
fi
.venv/bin/ruff check raybatch tests scripts
.venv/bin/ruff format --check raybatch tests scripts
# Ray's token auth stays on (tests/conftest.py gives the run a token of its own); raybatch keeps
# every Ray it starts on loopback by itself, so nothing here sets RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER.
# Two workers, a test file to each at a time (module fixtures run once): the suite waits on
# processes a third of its time (CLIs, clusters and servers starting and stopping), and the
# other worker's tests run meanwhile. (Three were slower: 12:23 against 12:04.)
exec .venv/bin/python -m pytest -q -n 2 --dist loadfile --durations=15 "$@"
