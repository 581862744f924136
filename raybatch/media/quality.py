"""How close an output stays to its source: SSIM and PSNR on a few sampled frames of the kept
ranges (ffmpeg's ``ssim`` and ``psnr`` filters, the source scaled to the output's size).

The guide's "quality consistency" KPI is the spread of these across a batch. A handful of short
samples is enough to tell a consistent batch from one whose videos were treated differently,
and costs a small fraction of the encode (two seeks and a few decoded frames per sample).
Enhancement counts as difference too: the number says how far the delivered picture is from
the raw one, which is what varies when settings vary.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from raybatch.media.runner import CommandResult, run_command

#: PSNR of identical frames is infinite; reports hold finite numbers.
PSNR_CAP_DB = 100.0
_SSIM = re.compile(r"SSIM .*All:([0-9.]+)")
_PSNR = re.compile(r"PSNR .*average:([0-9.]+|inf)")


@dataclass(frozen=True)
class SamplePoint:
    """One sample: where it starts in the output and in the source (frames), and its length."""

    output_frame: int
    source_frame: int
    frames: int


def sample_points(keep: list[tuple[int, int]], samples: int = 4, frames: int = 3) -> list[SamplePoint]:
    """``samples`` points spread evenly over the edited timeline (the kept source ranges played
    back to back), each ``frames`` long and inside one kept range."""
    total = sum(end - start for start, end in keep)
    if total <= 0:
        return []
    points = []
    for i in range(samples):
        target = int((i + 0.5) * total / samples)
        before = 0
        for start, end in keep:
            length = end - start
            if target < before + length:
                offset = min(target - before, max(0, length - frames))
                points.append(SamplePoint(before + offset, start + offset, min(frames, length)))
                break
            before += length
    return points


def parse_scores(stderr: str) -> list[tuple[float, float]]:
    """(SSIM, PSNR in dB) of every sample from ffmpeg's summary lines (one pair per sample)."""
    ssims, psnrs = _SSIM.findall(stderr), _PSNR.findall(stderr)
    decibels = [PSNR_CAP_DB if p == "inf" else min(PSNR_CAP_DB, float(p)) for p in psnrs]
    return list(zip((float(s) for s in ssims), decibels, strict=False))


def compare_args(
    output: str, source: str, points: list[SamplePoint], fps: str, size: tuple[int, int]
) -> list[str]:
    """ffmpeg arguments that score every sample of ``output`` against ``source`` in one run (a
    process start costs as much as a sample)."""
    rate, (width, height) = Fraction(fps), size
    inputs, graphs, outputs = [], [], []
    for i, point in enumerate(points):
        # A quarter frame early: the seek then lands on the sample's first frame, whatever rounding.
        for path, frame in ((output, point.output_frame), (source, point.source_frame)):
            inputs += ["-ss", f"{max(0.0, float((frame - Fraction(1, 4)) / rate)):.4f}", "-i", path]
        graphs.append(
            f"[{2 * i + 1}:v]fps={fps},scale={width}:{height}:flags=bicubic,setsar=1,format=yuv420p,"
            f"split[r{i}a][r{i}b];[{2 * i}:v]format=yuv420p[o{i}];[o{i}][r{i}a]psnr[p{i}];"
            f"[p{i}][r{i}b]ssim[q{i}]"
        )
        outputs += ["-map", f"[q{i}]", "-frames:v", str(point.frames), "-f", "null", "-"]
    return [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-v",
        "info",
        *inputs,
        "-filter_complex",
        ";".join(graphs),
        *outputs,
    ]


@dataclass(frozen=True)
class QualityScore:
    """A video's mean SSIM and PSNR over its samples."""

    ssim: float
    psnr_db: float
    samples: int

    def to_dict(self) -> dict[str, Any]:
        return {"ssim": round(self.ssim, 4), "psnr_db": round(self.psnr_db, 2), "samples": self.samples}


def measure_quality(
    output: str,
    source: str,
    keep: list[tuple[int, int]],
    fps: str,
    size: tuple[int, int],
    timeout_s: float,
) -> tuple[QualityScore | None, list[CommandResult]]:
    """Score ``output`` against ``source`` on sampled frames (``None`` when no sample scored)."""
    points = sample_points(keep)
    if not points:
        return None, []
    run = run_command(compare_args(output, source, points, fps, size), timeout_s=timeout_s, check=False)
    scores = parse_scores(run.stderr) if run.returncode == 0 else []
    if not scores:
        return None, [run]
    return QualityScore(
        ssim=statistics.fmean(s for s, _ in scores),
        psnr_db=statistics.fmean(p for _, p in scores),
        samples=len(scores),
    ), [run]


def spread(values: list[float]) -> dict[str, float] | None:
    """Mean, range and standard deviation of a batch's scores (``None`` without any)."""
    if not values:
        return None
    return {
        "mean": round(statistics.fmean(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "spread": round(max(values) - min(values), 4),
        "stdev": round(statistics.pstdev(values), 4),
    }
