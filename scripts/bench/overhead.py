"""raybatch vs plain ffmpeg doing the same work on the same file.

Plain ffmpeg runs the same enhancement chain and x264 settings in one process (its own default
threading, its best case) plus the same two-pass EBU R128 loudness normalisation. raybatch runs
end to end through its CLI (embedded Ray start-up, probe, segments, audio, assemble, verify).
Prints both wall times and their ratio (target: <= 1.25 on a 2-core machine).

    .venv/bin/python scripts/bench/overhead.py --generate 1080p --duration 90 --repeat 3
    .venv/bin/python scripts/bench/overhead.py path/to/video.mp4 --quality high --mode balanced
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from raybatch.config.presets import resolve_preset
from raybatch.media.commands import enhancement_filters, render_chain, video_encoder_options
from raybatch.media.loudness import parse_loudnorm_json
from raybatch.media.probe import probe_media

SIZES = {"1080p": "1920x1080", "720p": "1280x720", "540p": "960x540"}


def generate(kind: str, duration: float, folder: Path) -> Path:
    path = folder / f"bench_{kind}.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={SIZES[kind]}:rate=30:duration={duration}",
            "-f", "lavfi", "-i", f"sine=frequency=300:sample_rate=48000:duration={duration}",
            "-vf", "noise=alls=4:allf=t", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
            "-c:a", "aac", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def plain_ffmpeg(source: Path, out: Path, quality: str, mode: str, content_type: str) -> float:
    preset = resolve_preset(quality, mode, content_type)
    media = probe_media(str(source))
    started = time.monotonic()
    loud = (
        f"loudnorm=I={preset.loudness_target_lufs}:TP={preset.true_peak_dbtp}:LRA={preset.loudness_range_lu}"
    )
    measure = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-i",
            str(source),
            "-vn",
            "-af",
            loud + ":print_format=json",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    m = parse_loudnorm_json(measure.stderr)
    second = (
        f"{loud}:measured_I={m['input_i']}:measured_TP={m['input_tp']}:measured_LRA={m['input_lra']}"
        f":measured_thresh={m['input_thresh']}:offset={m['target_offset']}:linear=true,aresample=48000"
    )
    options = video_encoder_options(preset, media.video.fps, threads=0)
    options.pop("threads")  # plain ffmpeg gets its own (best) threading
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-v", "error", "-i", str(source)]
    args += ["-vf", render_chain(enhancement_filters(media.video, preset)), "-af", second]
    for key, value in options.items():
        args += [f"-{key}", str(value)]
    channels = min(2, max(1, media.audio.channels)) if media.audio else 2
    args += ["-c:a", "aac", "-b:a", f"{preset.audio_bitrate_kbps}k", "-ac", str(channels)]
    args += ["-ar", str(preset.audio_sample_rate), "-movflags", "+faststart", str(out)]
    subprocess.run(args, check=True)
    return time.monotonic() - started


def raybatch_cli(
    source: Path, out: Path, quality: str, mode: str, content_type: str, with_analysis: bool = False
) -> float:
    folder = out.parent / "in"
    # Plain ffmpeg does no analysis; by default raybatch runs the same transcode path for a
    # like-for-like ratio (scripts/bench/analysis.py measures what analysis adds).
    config = out.parent / "bench.yaml"
    config.write_text(f"processing:\n  analysis: {'true' if with_analysis else 'false'}\n")
    folder.mkdir(exist_ok=True)
    if not (folder / source.name).exists():
        (folder / source.name).symlink_to(source.resolve())
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "raybatch", "batch", "process", str(folder), "--output", str(out),
         "--config", str(config),
         "--quality", quality, "--mode", mode, "--type", content_type, "--no-progress-bar"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return time.monotonic() - started


def stage_breakdown(out: Path) -> list[str]:
    """Where raybatch's time went, from its own Parquet metrics: the wall-clock span of each
    stage across all rows, and what lies outside the stages (Ray start-up, scheduling, reports)."""
    import pyarrow.parquet as pq

    table = pq.read_table(next((out / "summary" / "metrics").glob("*.parquet"))).to_pandas()
    lines = []
    for stage, rows in table.groupby("stage", sort=False):
        span = (rows["end"].max() - rows["start"].min()).total_seconds()
        lines.append(f"  {stage:<9} span {span:6.1f} s  cpu {rows['cpu_s'].sum():6.1f} s  rows {len(rows)}")
    covered = (table["end"].max() - table["start"].min()).total_seconds()
    lines.append(f"  stages cover {covered:.1f} s of the run")
    return lines


def input_arguments(doc: str, default_size: str | None = None) -> argparse.ArgumentParser:
    """The arguments every benchmark shares: the input (a file, or one generated) and the
    CLI's settings (its own defaults)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", nargs="?", type=Path)
    parser.add_argument(
        "--generate", choices=sorted(SIZES), default=default_size, help="generate a test input of this size"
    )
    parser.add_argument("--duration", type=float, default=90.0)
    parser.add_argument("--quality", default="high")
    parser.add_argument("--mode", default="balanced")
    parser.add_argument("--type", dest="content_type", default="general")
    return parser


def main() -> None:
    parser = input_arguments(__doc__)
    parser.add_argument(
        "--repeat", type=int, default=1, help="alternate the two runs this many times; medians are compared"
    )
    parser.add_argument("--with-analysis", action="store_true", help="include raybatch's analysis stages")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = args.video or generate(args.generate or "720p", args.duration, work)
        info = probe_media(str(source))
        (work / "rb").mkdir()
        plain_runs, our_runs = [], []
        for _ in range(max(1, args.repeat)):
            settings = (args.quality, args.mode, args.content_type)
            plain_runs.append(plain_ffmpeg(source, work / "plain.mp4", *settings))
            our_runs.append(raybatch_cli(source, work / "rb" / "out", *settings, args.with_analysis))
        plain, ours = statistics.median(plain_runs), statistics.median(our_runs)
        w, h = info.video.display_size
        print(f"input: {source.name} {w}x{h} {info.video.fps} fps, {info.duration_s:.1f} s")
        print(f"settings: quality={args.quality} mode={args.mode} type={args.content_type}")
        runs = f" (median of {len(plain_runs)})" if len(plain_runs) > 1 else ""
        print(f"plain ffmpeg: {plain:.1f} s{runs}  " + " ".join(f"{t:.1f}" for t in plain_runs))
        print(f"raybatch:     {ours:.1f} s{runs}  " + " ".join(f"{t:.1f}" for t in our_runs))
        print("\n".join(stage_breakdown(work / "rb" / "out")))
        print(f"ratio raybatch/ffmpeg: {ours / plain:.2f}x (target <= 1.25)")


if __name__ == "__main__":
    main()
