#!/usr/bin/env bash
# Re-resolve pyproject.toml's dependency ranges (with the dev and test tools) in a scratch venv
# and write the result to constraints.txt: the tested set scripts/setup.sh, the Docker image and
# CI install. Run it after changing dependencies, then run scripts/test.sh before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"${PYTHON:-python3}" -m venv "$work/venv"
# torch pinned in the same command: unpinned, pip resolves the CUDA build.
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "torch==2.13.0" ".[dev]"
{
  echo "# The tested set: the exact versions CI and scripts/setup.sh install (pip install -c constraints.txt)."
  echo "# pyproject.toml declares ranges; this file pins them. Regenerate after changing dependencies:"
  echo "#   scripts/lock.sh   (installs from pyproject.toml alone, then freezes)"
  # The local version label (+cpu) is dropped: torch==2.13.0 admits the CPU and the CUDA build.
  "$work/venv/bin/python" -m pip freeze --all --exclude-editable \
    | grep -vE "^(raybatch|pip|setuptools|wheel)[=@ ]" | sed -E 's/^(torch==[^+]+)\+.*/\1/'
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages"
