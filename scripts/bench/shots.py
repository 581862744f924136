"""Shot detection quality: raybatch (TransNetV2 fused with content change) against TransNetV2
alone and PySceneDetect's AdaptiveDetector, F1 with a tolerance of 2 frames.

Ground truth:
- shared media (``../shared/media``): transitions read off per-frame contact sheets of the same
  constant-rate timeline raybatch decodes (cuts as their first new frame, fades and dissolves as
  their first and last frame; a prediction anywhere in a gradual transition's span matches it);
- generated clips: built here with ffmpeg (lavfi sources joined by cuts and ``xfade``
  transitions, every random source seeded), so every transition is known exactly. ``held_out``
  was not used to tune anything.

Clips without a cut (one-shot films, talking heads) count false boundaries: their F1 is 1 when
nothing is found and 0 otherwise.

PySceneDetect is installed for this benchmark only: ``.venv/bin/pip install -e .[bench]``.

    .venv/bin/python scripts/bench/shots.py
    .venv/bin/python scripts/bench/shots.py --json shots.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

from raybatch.analysis.scan import SMALL_SIZE, describe_picture
from raybatch.analysis.shots import describe_shots, detect_shots, f1_score
from raybatch.media.frames import iter_raw_frames
from raybatch.media.probe import probe_media
from raybatch.models.transnet import ShotModel
from raybatch.stages.analyse_picture import scan_picture

MEDIA = Path(__file__).resolve().parents[2].parent / "shared" / "media"

Truth = list[int | tuple[int, int]]

#: Shared media: path -> transitions on raybatch's decode timeline (frame indices).
REAL: dict[str, Truth] = {
    "pyscenedetect/testvideo.mp4": [30, 180, (210, 226), (340, 360), (393, 410), (530, 558), (672, 694)],
    "pyscenedetect/goldeneye-vfr-drop3.mp4": [60, 141],
    "pyscenedetect/issue-134-rotate.mp4": [90, 210],
    "moviepy/big_buck_bunny_0_30.webm": [(8, 50), 283, 376, 551],
    "moviepy/chaplin.mp4": [],
    "auto-editor/example.mp4": [],
    "auto-editor/only-video/man-on-green-screen.mp4": [],
}

FPS = 25
SIZE = "640x360"
SOURCES = {
    "bars": f"testsrc2=s={SIZE}:r={FPS}",
    "bars_hue": f"testsrc2=s={SIZE}:r={FPS},hue=h=140:s=1.4",
    "mandel": f"mandelbrot=s={SIZE}:r={FPS}",
    "mandel_far": f"mandelbrot=s={SIZE}:r={FPS}:start_scale=0.3:start_x=-0.75",
    "grad": f"gradients=s={SIZE}:r={FPS}:speed=0.03:seed=1",
    "grad2": f"gradients=s={SIZE}:r={FPS}:speed=0.05:c0=0x203080:c1=0xe0c040:seed=7",
    "cell": f"cellauto=s={SIZE}:r={FPS}:rule=110:seed=1",
    "life": f"life=s={SIZE}:r={FPS}:mold=10:ratio=0.3:seed=1:life_color=#30c030:death_color=#602020",
    "smpte": f"smptehdbars=s={SIZE}:r={FPS}",
    "rgb": f"rgbtestsrc=s={SIZE}:r={FPS}",
    "yuv": f"yuvtestsrc=s={SIZE}:r={FPS}",
}

CUT = "cut"
#: Generated clips: (source, frames, first source frame, transition to the next shot).
GENERATED: dict[str, list[tuple[str, int, int, object]]] = {
    # Very short shots (2 to 8 frames) between ordinary ones: TransNetV2 alone misses some.
    "short_shots": [
        ("bars", 40, 0, CUT), ("mandel", 4, 10, CUT), ("grad", 30, 0, CUT), ("cell", 3, 20, CUT),
        ("life", 45, 0, CUT), ("smpte", 6, 0, CUT), ("rgb", 2, 0, CUT), ("bars_hue", 35, 50, CUT),
        ("mandel_far", 5, 0, CUT), ("grad2", 40, 0, CUT), ("life", 8, 60, CUT), ("bars", 30, 200, None),
    ],
    # Dissolves, a fade through black and a wipe.
    "gradual": [
        ("bars", 50, 0, ("dissolve", 12)), ("mandel", 60, 0, ("fadeblack", 20)),
        ("grad", 60, 0, ("dissolve", 30)), ("life", 60, 0, ("wipeleft", 10)), ("cell", 50, 0, CUT),
        ("smpte", 40, 0, ("dissolve", 8)), ("bars_hue", 50, 0, None),
    ],
    # Cuts between shots that look alike (same source, other time, zoom or colours).
    "similar": [
        ("bars", 40, 0, CUT), ("smpte", 40, 0, CUT), ("mandel", 40, 0, CUT), ("mandel_far", 40, 0, CUT),
        ("grad", 40, 0, CUT), ("grad", 40, 400, CUT), ("bars_hue", 40, 0, CUT), ("bars", 40, 100, None),
    ],
    # Everything at once, with other lengths and transitions; never used for tuning.
    "held_out": [
        ("yuv", 35, 0, CUT), ("life", 7, 30, CUT), ("grad2", 50, 100, ("fadewhite", 16)),
        ("cell", 45, 40, CUT), ("mandel", 3, 80, CUT), ("bars_hue", 60, 20, ("dissolve", 25)),
        ("smpte", 55, 0, ("fadeblack", 14)), ("grad", 40, 250, CUT), ("rgb", 5, 0, CUT),
        ("mandel_far", 50, 30, ("slideup", 12)), ("bars", 40, 400, None),
    ],
}  # fmt: skip


def build_clip(shots: list[tuple[str, int, int, object]], out: Path) -> Truth:
    """Render a generated clip and return its transitions."""
    graph = [
        f"{SOURCES[src]},trim=start_frame={skip}:end_frame={skip + frames},setpts=PTS-STARTPTS,"
        f"format=yuv420p,setsar=1,settb=1/{FPS}[s{i}]"
        for i, (src, frames, skip, _) in enumerate(shots)
    ]
    current, length, truth = "s0", shots[0][1], []
    for i in range(1, len(shots)):
        transition = shots[i - 1][3]
        if transition == CUT:
            truth.append(length)
            graph.append(f"[{current}][s{i}]concat=n=2:v=1:a=0,settb=1/{FPS}[j{i}]")
            length += shots[i][1]
        else:
            kind, frames = transition  # type: ignore[misc]
            offset = length - frames
            truth.append((offset, length))
            xfade = f"xfade=transition={kind}:duration={frames / FPS}:offset={offset / FPS}"
            graph.append(f"[{current}][s{i}]{xfade}[j{i}]")
            length += shots[i][1] - frames
        current = f"j{i}"
    graph.append(f"[{current}]noise=alls=5:allf=t:all_seed=1[out]")  # a little camera grain
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-filter_complex", ";".join(graph), "-map", "[out]",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", str(out)],
        check=True,
    )  # fmt: skip
    return truth


def pyscenedetect_boundaries(path: Path, fps: float) -> list[int]:
    """AdaptiveDetector with its defaults, mapped onto raybatch's timeline by time."""
    from scenedetect import AdaptiveDetector, SceneManager, open_video

    manager = SceneManager()
    manager.add_detector(AdaptiveDetector())
    manager.detect_scenes(open_video(str(path)))
    return [round(scene[0].seconds * fps) for scene in manager.get_scene_list()[1:]]


def evaluate(path: Path, truth: Truth, model: ShotModel) -> dict:
    media = probe_media(str(path))
    assert media.video is not None, path
    # The pipeline's own path: one decode that keeps the 48x27 frames, then the model over them.
    with tempfile.NamedTemporaryFile(suffix=".rgb24") as frames:
        signals, _ = scan_picture(str(path), media.video, None, frames)
        frames.flush()
        detection = detect_shots(model, iter_raw_frames(frames.name, SMALL_SIZE))
    fps = float(Fraction(media.video.fps))
    picture = (signals.content, signals.brightness)
    wipes = describe_picture(signals, media.video.fps)["wipes"]
    found = {
        "transnetv2": detection.model_shots(),
        "pyscenedetect": pyscenedetect_boundaries(path, fps),
        "raybatch": [shot["frame"] for shot in describe_shots(detection, *picture, fps, wipes)["shots"]],
    }
    return {
        "frames": signals.frames,
        "truth": truth,
        "found": found,
        "scores": {name: f1_score(frames, truth) for name, frames in found.items()},
    }


def totals(results: dict[str, dict], detector: str) -> dict[str, float]:
    """Micro-averaged precision, recall and F1 over every clip's transitions."""
    matched = sum(r["scores"][detector]["matched"] for r in results.values())
    predicted = sum(len(r["found"][detector]) for r in results.values())
    truths = sum(len(r["truth"]) for r in results.values())
    precision = matched / predicted if predicted else 1.0
    recall = matched / truths if truths else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def shot_table(threads: int = 2) -> dict | None:
    """Score every clip, print the table and return the results (None without PySceneDetect)."""
    try:
        import scenedetect  # noqa: F401
    except ImportError:
        print("PySceneDetect is missing: .venv/bin/pip install -e .[bench]", file=sys.stderr)
        return None

    model = ShotModel(threads=threads)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, shots in GENERATED.items():
            clip = Path(tmp) / f"{name}.mp4"
            results[f"generated/{name}"] = evaluate(clip, build_clip(shots, clip), model)
        if MEDIA.is_dir():
            for relative, truth in REAL.items():
                results[relative] = evaluate(MEDIA / relative, truth, model)
        else:
            print(f"{MEDIA} is absent: generated clips only", file=sys.stderr)

    detectors = ("transnetv2", "pyscenedetect", "raybatch")
    print(f"{'clip (F1, 2 frames)':48} {'truth':>5}  " + "  ".join(f"{d:>13}" for d in detectors))
    for name, result in results.items():
        cells = "  ".join(f"{result['scores'][d]['f1']:>13.3f}" for d in detectors)
        print(f"{name:48} {len(result['truth']):>5}  {cells}")
    overall = {d: totals(results, d) for d in detectors}
    truths = sum(len(r["truth"]) for r in results.values())
    cells = "  ".join(f"{overall[d]['f1']:>13.3f}" for d in detectors)
    print(f"{'all (micro-averaged)':48} {truths:>5}  {cells}")
    cells = "  ".join(f"{overall[d]['precision']:>6.3f}/{overall[d]['recall']:<6.3f}" for d in detectors)
    print(f"{'  precision/recall':48} {'':>5}  {cells}")
    beaten = [
        name
        for name, r in results.items()
        if r["scores"]["raybatch"]["f1"] < max(r["scores"][d]["f1"] for d in detectors[:2])
    ]
    best = overall["raybatch"]["f1"]
    print(
        f"ratio raybatch/TransNetV2 {best / max(overall['transnetv2']['f1'], 1e-9):.3f}, "
        f"raybatch/PySceneDetect {best / max(overall['pyscenedetect']['f1'], 1e-9):.3f}; "
        f"clips where raybatch is below the better baseline: {', '.join(beaten) or 'none'}"
    )
    return {"clips": results, "overall": overall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write every clip's boundaries and scores here")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for TransNetV2")
    args = parser.parse_args()
    table = shot_table(args.threads)
    if table is None:
        return 2
    if args.json:
        args.json.write_text(json.dumps(table, indent=2, default=list))
    return 0


if __name__ == "__main__":
    sys.exit(main())
