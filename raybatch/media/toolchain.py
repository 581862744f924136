"""Whether the ffmpeg and ffprobe on a machine can run raybatch's commands.

raybatch's commands need ffmpeg 5.1 or newer (``-fps_mode``, ``-bsf:a aac_adtstoasc`` with
fragment timing) and a set of encoders and filters. A distribution's ffmpeg can be older (Ubuntu
22.04 ships 4.4) or built without some of them; found per segment, that would be one ffmpeg usage
error per video. :func:`check_toolchain` finds it once, before any work, from three cheap calls
(``-version``, ``-encoders``, ``-filters``). The run checks the driver and every Ray node that runs
its stages (:func:`check_cluster_toolchains`); ``python -m raybatch.media.toolchain`` checks this
machine (the cluster set-up commands run it after installing ffmpeg).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

#: The oldest ffmpeg whose options raybatch's commands use (``-fps_mode`` arrived in 5.1).
MINIMUM_VERSION = (5, 1)
#: Encoders every node needs besides the run's video encoder: the AAC sound, the float WAV
#: of the edited sound, and the PNG frames thumbnails are picked from.
BASE_ENCODERS = ("aac", "pcm_f32le", "png")
#: Every filter raybatch's commands name (tests/unit/media/test_toolchain.py keeps it complete).
FILTERS = (
    "acompressor", "afftdn", "alimiter", "apad", "aresample", "asplit", "atrim", "eq", "format", "fps",
    "highpass", "hqdn3d", "psnr", "scale", "select", "setpts", "setsar", "split", "ssim", "tpad",
    "unsharp", "volume",
)  # fmt: skip
FIX_HINT = (
    "install ffmpeg >= 5.1 with libx264 (Debian 12+, Ubuntu 24.04+: apt-get install ffmpeg; any Linux: "
    "cluster/install_ffmpeg.sh installs a static build with NVENC) and put it first on PATH"
)

_VERSION = re.compile(r"version\s+n?(\d+)\.(\d+)")
#: ``-encoders`` lines: `` V....D libx264  libx264 H.264 ...`` (flags, then the name).
_ENCODER_LINE = re.compile(r"^\s*[VAS][A-Z.]{5}\s+([\w-]+)", re.MULTILINE)
#: ``-filters`` lines: `` ... loudnorm  A->A  EBU R128 ...`` (flags, name, in->out).
_FILTER_LINE = re.compile(r"^\s*[A-Z.]{2,3}\s+(\S+)\s+\S*->\S*", re.MULTILINE)


def parse_version(text: str) -> tuple[int, int] | None:
    """The major and minor version from ``ffmpeg -version``'s first line; ``None`` for a build
    without a release number (a git snapshot: ``version N-113027-g...``)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    match = _VERSION.search(first)
    return (int(match.group(1)), int(match.group(2))) if match else None


def parse_encoders(text: str) -> set[str]:
    """Encoder names from ``ffmpeg -encoders``."""
    return set(_ENCODER_LINE.findall(text))


def parse_filters(text: str) -> set[str]:
    """Filter names from ``ffmpeg -filters``."""
    return set(_FILTER_LINE.findall(text))


@dataclass
class Toolchain:
    """What one machine's ffmpeg and ffprobe are and can do."""

    ffmpeg: str | None
    ffprobe: str | None
    version_line: str = ""
    version: tuple[int, int] | None = None
    probe_version: tuple[int, int] | None = None
    encoders: set[str] = field(default_factory=set)
    filters: set[str] = field(default_factory=set)


def problems(tools: Toolchain, video_encoder: str | None) -> list[str]:
    """What ``tools`` lacks for a run that encodes video with ``video_encoder`` here (``None``: a
    machine that encodes no video) (empty: all there)."""
    if tools.ffmpeg is None or tools.ffprobe is None:
        return [f"{name} not found on PATH" for name in ("ffmpeg", "ffprobe") if getattr(tools, name) is None]
    found = []
    wanted = ".".join(map(str, MINIMUM_VERSION))
    for name, version in (("ffmpeg", tools.version), ("ffprobe", tools.probe_version)):
        if version is not None and version < MINIMUM_VERSION:
            found.append(f"{name} {version[0]}.{version[1]} is older than {wanted}")
    wanted_encoders = (video_encoder, *BASE_ENCODERS) if video_encoder else BASE_ENCODERS
    missing_encoders = [e for e in wanted_encoders if e not in tools.encoders]
    if missing_encoders:
        found.append(f"encoders missing: {', '.join(missing_encoders)}")
    missing_filters = [f for f in FILTERS if f not in tools.filters]
    if missing_filters:
        found.append(f"filters missing: {', '.join(missing_filters)}")
    return found


def _output(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    return done.stdout + done.stderr


def inspect_toolchain() -> Toolchain:
    """This machine's ffmpeg and ffprobe (the first on PATH, as raybatch's commands run them)."""
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    tools = Toolchain(ffmpeg, ffprobe)
    if ffmpeg:
        version_text = _output([ffmpeg, "-hide_banner", "-version"])
        tools.version_line = version_text.strip().splitlines()[0] if version_text.strip() else ""
        tools.version = parse_version(version_text)
        tools.encoders = parse_encoders(_output([ffmpeg, "-hide_banner", "-encoders"]))
        tools.filters = parse_filters(_output([ffmpeg, "-hide_banner", "-filters"]))
    if ffprobe:
        tools.probe_version = parse_version(_output([ffprobe, "-hide_banner", "-version"]))
    return tools


def check_here(video_encoder: str | None) -> dict[str, Any]:
    """This machine's name, its ffmpeg and what it lacks for ``video_encoder``."""
    tools = inspect_toolchain()
    return {
        "node": socket.gethostname(),
        "ffmpeg": tools.ffmpeg,
        "version": tools.version_line,
        "problems": problems(tools, video_encoder),
    }


def failure_message(reports: list[dict[str, Any]]) -> str | None:
    """One message naming each machine whose ffmpeg cannot run the job, or ``None``."""
    bad = [r for r in reports if r["problems"]]
    if not bad:
        return None
    lines = [
        f"{r['node']}: {'; '.join(r['problems'])}"
        + (f" ({r['ffmpeg']}: {r['version']})" if r.get("ffmpeg") else "")
        for r in bad
    ]
    machines = "1 machine" if len(bad) == 1 else f"{len(bad)} machines"
    return f"ffmpeg cannot run this job on {machines}:\n  " + "\n  ".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m raybatch.media.toolchain [ENCODER]``: check this machine; exit 1 when it fails."""
    args = sys.argv[1:] if argv is None else argv
    report = check_here(args[0] if args else "libx264")
    message = failure_message([report])
    if message:
        print(f"{message}\nfix: {FIX_HINT}", file=sys.stderr)
        return 1
    print(f"{report['node']}: {report['version']} ({report['ffmpeg']}): ok for raybatch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
