"""What analysis costs: its wall time as a fraction of the encode's, on a 1080p input.

Runs raybatch end to end through its CLI with analysis on and reads its own Parquet metrics:
- critical path: the analysis the edit waits for (one low-resolution decode for picture signals,
  the sound decode with Silero VAD, the decision), from the first analysis stage's start to the
  decision's end, over the encode stage's span (target: <= 15%);
- the shot model (TransNetV2), which runs beside the encoders and is off the critical path;
  its own wall time is printed too.
With ``--compare`` it also runs with analysis off and prints what analysis adds end to end.

    .venv/bin/python scripts/bench/analysis.py --generate 1080p --duration 90 --compare
    .venv/bin/python scripts/bench/analysis.py path/to/video.mp4
"""

from __future__ import annotations

import json
import tempfile
from fractions import Fraction
from pathlib import Path

import pyarrow.parquet as pq
from overhead import generate, input_arguments, raybatch_cli, stage_breakdown

from raybatch.media.probe import probe_media

CRITICAL = ("analyse_video", "analyse_sound", "decide")


def spans(out: Path) -> dict[str, float]:
    """Wall-clock span of each stage (first start to last end), and of the critical analysis."""
    table = pq.read_table(next((out / "summary" / "metrics").glob("*.parquet"))).to_pandas()
    result = {}
    for stage, rows in table.groupby("stage"):
        result[stage] = (rows["end"].max() - rows["start"].min()).total_seconds()
    critical = table[table["stage"].isin(CRITICAL)]
    result["critical_analysis"] = (critical["end"].max() - critical["start"].min()).total_seconds()
    return result


def main() -> None:
    parser = input_arguments(__doc__, default_size="1080p")
    parser.add_argument("--compare", action="store_true", help="also run with analysis off")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = args.video or generate(args.generate, args.duration, work)
        info = probe_media(str(source))
        settings = (args.quality, args.mode, args.content_type)
        (work / "on").mkdir()
        wall_on = raybatch_cli(source, work / "on" / "out", *settings, with_analysis=True)
        on = spans(work / "on" / "out")
        analysis_file = next((work / "on" / "out").glob("*/metadata/analysis.json"))
        models = json.loads(analysis_file.read_text())["models"]
        w, h = info.video.display_size
        print(f"input: {source.name} {w}x{h} {info.video.fps} fps, {info.duration_s:.1f} s")
        print(f"settings: quality={args.quality} mode={args.mode} type={args.content_type}")
        print(f"raybatch with analysis: {wall_on:.1f} s")
        print("\n".join(stage_breakdown(work / "on" / "out")))
        shots = models.get("shots") or {}
        frames = info.duration_s * float(Fraction(info.video.fps))
        model_s = (shots.get("timings_s") or {}).get("model") or 0.0
        print(
            f"shot model beside the encode: {on.get('detect_shots', 0):.1f} s "
            f"(TransNetV2 {model_s:.1f} s on {shots.get('device')}, "
            f"{frames / model_s if model_s else 0:.0f} frames/s, windows {shots.get('windows')})"
        )
        ratio = on["critical_analysis"] / on["encode"]
        print(
            f"ratio critical-path analysis/encode: {on['critical_analysis']:.1f} / {on['encode']:.1f} s = "
            f"{ratio:.1%} (target <= 15%)"
        )
        if args.compare:
            (work / "off").mkdir()
            wall_off = raybatch_cli(source, work / "off" / "out", *settings, with_analysis=False)
            off = spans(work / "off" / "out")
            added = wall_on - wall_off
            print(f"raybatch without analysis: {wall_off:.1f} s (encode span {off['encode']:.1f} s)")
            print(f"ratio end-to-end added by analysis/encode: {added:.1f} / {off['encode']:.1f} s = "
                  f"{added / off['encode']:.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
