#!/usr/bin/env bash
# Install an ffmpeg and ffprobe that raybatch accepts (>= 5.1, libx264, NVENC, every filter it
# uses) into $PREFIX/bin (default /usr/local/bin, ahead of /usr/bin on PATH).
#
# Why a static build: the launcher images (Ubuntu 22.04) and the Ray image ship ffmpeg 4.4 from
# apt, too old for raybatch's commands. BtbN's FFmpeg-Builds (GPL, release branch 7.1) are static,
# run on any glibc Linux, include libx264 and NVENC (loaded from the NVIDIA driver at run time, so
# the same binary serves CPU and GPU nodes) and are published on GitHub, which cloud nodes reach.
# For nodes without internet access, copy the archive to a bucket or mirror the nodes can reach
# and point RAYBATCH_FFMPEG_URL at it (file:// works too); RAYBATCH_FFMPEG_SHA256 pins its digest.
set -euo pipefail

PREFIX="${PREFIX:-/usr/local}"
case "$(uname -m)" in
  x86_64) platform=linux64 ;;
  aarch64 | arm64) platform=linuxarm64 ;;
  *) echo "install_ffmpeg: no static build for $(uname -m); install ffmpeg >= 5.1 yourself" >&2; exit 1 ;;
esac
url="${RAYBATCH_FFMPEG_URL:-https://github.com/BtbN/FFmpeg-Builds/releases/download/latest/ffmpeg-n7.1-latest-${platform}-gpl-7.1.tar.xz}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "install_ffmpeg: fetching $url" >&2
curl -fsSL --retry 3 "$url" -o "$work/ffmpeg.tar.xz"
if [ -n "${RAYBATCH_FFMPEG_SHA256:-}" ]; then
  echo "${RAYBATCH_FFMPEG_SHA256}  $work/ffmpeg.tar.xz" | sha256sum -c - >&2
fi
tar -xJf "$work/ffmpeg.tar.xz" -C "$work" --wildcards '*/bin/ffmpeg' '*/bin/ffprobe'
mkdir -p "$PREFIX/bin"
for tool in ffmpeg ffprobe; do
  # Into place by rename: a running ffmpeg keeps its binary.
  install -m 0755 "$work"/*/bin/"$tool" "$PREFIX/bin/.$tool.new"
  mv -f "$PREFIX/bin/.$tool.new" "$PREFIX/bin/$tool"
done
"$PREFIX/bin/ffmpeg" -hide_banner -version | head -1
