"""Edit quality: how much speech the edit keeps, how much else it keeps, and how tight it is.

For each clip, one table row: speech recall (annotated speech time the edit keeps), the share of
non-speech time kept, the kept duration, and phrases cut into (any placed phrase not wholly
kept). The edit is raybatch's own decision (the sound analysis and ``decide``, as the pipeline
runs them) without the encode.

Clips:
- generated here (``tests/synthetic_speech.py``): synthetic voices at known times, one speaker
  or two with overlaps, from a close microphone to a far-field one (reverberation, room noise);
- ``../shared/media/auto-editor/example.mp4`` (clean, close speech): kept duration against
  auto-editor's 17.43-17.6 s with its defaults, and the speech truth in
  ``edit_quality_truth.json`` (read off its spectrogram, once); and as far-field microphones
  would hear it (the same truth);
- generated transitions of known span (dissolves, fades through black, wipes, slides of 5 to 50
  frames, built as ``scripts/bench/shots.py`` builds its clips): span F1, both ends within 2
  frames, of the transitions ``analysis.json`` reports, and of the rule they replaced (the
  single-frame head over 0.1 with the fades), and of the spans segment seams keep out of;
- shot-boundary F1 against TransNetV2 alone and PySceneDetect, the table of
  ``scripts/bench/shots.py`` (PySceneDetect from the ``bench`` extra).

    .venv/bin/python scripts/bench/edit_quality.py [--type educational] [--mode fast]
        [--only speech|transitions|shots] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from raybatch.analysis.decide import decide  # noqa: E402
from raybatch.analysis.edl import Edl, intersect, merge_spans  # noqa: E402
from raybatch.analysis.scan import SMALL_SIZE  # noqa: E402
from raybatch.analysis.sound import describe_sound  # noqa: E402
from raybatch.analysis.speech import detect_speech  # noqa: E402
from raybatch.config.presets import resolve_preset  # noqa: E402
from raybatch.media.commands import analysis_audio_args, delivered_channels  # noqa: E402
from raybatch.media.loudness import LoudnessReader  # noqa: E402
from raybatch.media.probe import probe_media  # noqa: E402
from raybatch.media.runner import SIDE_PIPE, run_command  # noqa: E402
from raybatch.models.vad import SAMPLE_RATE, SpeechModel  # noqa: E402
from tests.synthetic_speech import (  # noqa: E402
    ROOMS,
    SpeechClip,
    make_far_field,
    make_speech_clip,
    with_picture,
)

MEDIA = ROOT.parent / "shared" / "media"
TRUTH = Path(__file__).with_name("edit_quality_truth.json")
AUTO_EDITOR_KEPT_S = (17.43, 17.6)


def edit_of_file(path: str, model: SpeechModel, *, content_type: str, mode: str) -> Edl:
    """The EDL raybatch decides for ``path``: its sound decode and analysis, then ``decide``."""
    media = probe_media(path)
    preset = resolve_preset("medium", mode, content_type)
    loudness = LoudnessReader(preset.audio_sample_rate, delivered_channels(media))
    run = run_command(
        analysis_audio_args(path, media, preset, SAMPLE_RATE, SIDE_PIPE.format(0)),
        capture_stdout=True,
        side_consumers=(loudness,),
    )
    samples = np.frombuffer(run.stdout[: len(run.stdout) // 4 * 4], np.float32)
    found = detect_speech(model, samples, SAMPLE_RATE)
    sound = describe_sound(samples, SAMPLE_RATE, loudness.loudness(), found)
    return decide(
        fps=media.video.fps,
        duration_s=media.duration_s,
        picture=None,
        sound=sound,
        preset=preset,
        analysis=True,
    ).edl


def measure(clip: SpeechClip, edl: Edl) -> dict:
    kept = edl.kept_spans_s()
    speech_kept = sum(b - a for a, b in intersect(clip.truth, kept))
    kept_s = edl.kept_seconds()
    duration_s = edl.source_frames / float(Fraction(edl.fps))  # the file as made, not as annotated
    non_speech = duration_s - clip.speech_s()
    cut_into = [p for p in clip.phrases if sum(b - a for a, b in intersect([p], kept)) < p[1] - p[0] - 0.02]
    return {
        "duration_s": round(duration_s, 2),
        "speech_s": round(clip.speech_s(), 2),
        "recall": round(speech_kept / clip.speech_s(), 4) if clip.speech_s() else 1.0,
        "non_speech_kept": round((kept_s - speech_kept) / non_speech, 3) if non_speech > 0 else 0.0,
        "kept_s": round(kept_s, 2),
        "phrases_cut": len(cut_into),
        "phrases": len(clip.phrases),
    }


def generated_clips(folder: Path) -> list[tuple[str, SpeechClip]]:
    clips = []
    for name, room in ROOMS.items():
        for second in (False, True):
            label = f"{name}{' +2nd speaker' if second else ''}"
            path = folder / f"{name}_{int(second)}.mp4"
            clips.append((label, make_speech_clip(path, room, second_speaker=second, seed=len(clips))))
    return clips


def real_clips(folder: Path) -> list[tuple[str, SpeechClip]]:
    """The real recordings with their truth, each also as far-field microphones would hear it."""
    if not MEDIA.is_dir() or not TRUTH.is_file():
        return []
    clips = []
    for name, entry in json.loads(TRUTH.read_text()).items():
        spans = merge_spans([tuple(s) for s in entry["speech"]])
        source = MEDIA / name
        if source.suffix in (".mp3", ".m4a", ".wav"):
            source = with_picture(source, folder / f"{source.stem}.mp4")
        clips.append((name, SpeechClip(source, entry["duration_s"], spans, spans)))
        for room in ("far", "very_far", "meeting"):
            far = make_far_field(source, folder / f"{room}_{Path(name).stem}.mp4", ROOMS[room])
            clips.append((f"{Path(name).name} as {room}", SpeechClip(far, entry["duration_s"], spans, spans)))
    return clips


TRANSITION_KINDS = ("dissolve", "fadeblack", "wipeleft", "slideleft", "wipeup", "slidedown")
TRANSITION_FRAMES = (5, 12, 25, 50)
SHOT_SOURCES = ("bars", "mandel", "grad", "life", "cell", "smpte", "bars_hue", "grad2", "mandel_far", "yuv")


def frames_of(spans: list, fps: float) -> list[tuple[int, int]]:
    return [(round(a * fps), round(b * fps)) for a, b in spans]


def transition_rows(folder: Path) -> dict[str, dict]:
    """Span F1 per transition kind, now and with the rule it replaced."""
    from shots import build_clip

    from raybatch.analysis.scan import describe_picture
    from raybatch.analysis.shots import describe_shots, detect_shots, span_f1
    from raybatch.analysis.transitions import fade_spans, probability_spans
    from raybatch.media.frames import iter_raw_frames
    from raybatch.models.transnet import ShotModel
    from raybatch.stages.analyse_picture import scan_picture

    model, rows, index = ShotModel(threads=2, prefer_gpu=False), {}, 0
    for kind in TRANSITION_KINDS:
        shots = []
        for frames in TRANSITION_FRAMES:
            shots.append((SHOT_SOURCES[index % len(SHOT_SOURCES)], 70 + frames, 0, (kind, frames)))
            index += 1
        shots.append((SHOT_SOURCES[index % len(SHOT_SOURCES)], 60, 0, None))
        path = folder / f"{kind}.mp4"
        truth = build_clip(shots, path)
        media = probe_media(str(path))
        fps = float(Fraction(media.video.fps))
        with tempfile.NamedTemporaryFile(suffix=".rgb24") as raw:
            signals, _ = scan_picture(str(path), media.video, None, raw)
            raw.flush()
            detection = detect_shots(model, iter_raw_frames(raw.name, SMALL_SIZE))
        picture = describe_picture(signals, media.video.fps)
        now = describe_shots(detection, signals.content, signals.brightness, fps, picture["wipes"])[
            "transitions"
        ]
        # What the segment seams keep out of: known before the plan, without the shot model.
        seams = merge_spans([tuple(s) for key in ("fades", "wipes", "dissolves") for s in picture[key]])
        before = merge_spans(
            probability_spans(detection.probabilities, fps, 0.1) + fade_spans(signals.brightness, fps)
        )
        found, found_before, found_seams = frames_of(now, fps), frames_of(before, fps), frames_of(seams, fps)
        rows[kind] = {
            "truth": truth,
            "found": found,
            "before": found_before,
            "seams": found_seams,
            "f1": span_f1(found, truth)["f1"],
            "f1_before": span_f1(found_before, truth)["f1"],
            "f1_seams": span_f1(found_seams, truth)["f1"],
        }

    def pooled(key: str) -> list[tuple[int, int]]:
        """Every clip's spans, each clip's frames offset so that no two clips' spans can match."""
        return [(a + 10_000 * i, b + 10_000 * i) for i, row in enumerate(rows.values()) for a, b in row[key]]

    rows["all"] = {
        "found": [],
        "f1": span_f1(pooled("found"), pooled("truth"))["f1"],
        "f1_before": span_f1(pooled("before"), pooled("truth"))["f1"],
        "f1_seams": span_f1(pooled("seams"), pooled("truth"))["f1"],
    }
    return rows


def speech_table(content_type: str, mode: str) -> dict[str, dict]:
    """Print the speech rows and return them."""
    model = SpeechModel(prefer_gpu=False)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, clip in [*generated_clips(Path(tmp)), *real_clips(Path(tmp))]:
            edl = edit_of_file(str(clip.path), model, content_type=content_type, mode=mode)
            rows[label] = measure(clip, edl)
    columns = ("speech s", "recall", "non-speech kept", "kept s", "phrases cut")
    header = f"{'clip':<34} " + " ".join(f"{c:>{max(7, len(c))}}" for c in columns)
    print(f"edit quality, --type {content_type} --mode {mode}")
    print(header)
    for label, row in rows.items():
        print(
            f"{label:<34} {row['speech_s']:>8.2f} {row['recall']:>7.1%} {row['non_speech_kept']:>15.1%} "
            f"{row['kept_s']:>7.2f} {row['phrases_cut']:>5}/{row['phrases']:<5}"
        )
    example = rows.get("auto-editor/example.mp4")
    if example:
        low, high = AUTO_EDITOR_KEPT_S
        print(f"example.mp4 kept {example['kept_s']:.2f} s; auto-editor keeps {low}-{high} s")
    far = [r for label, r in rows.items() if "/" not in label and not label.startswith("close")]
    print(
        f"worst recall on far-field and overlapped clips: {min(r['recall'] for r in far):.1%} (target >= 99%)"
    )
    return rows


def transition_table() -> dict[str, dict]:
    """Print the transition rows and return them."""
    with tempfile.TemporaryDirectory() as tmp:
        rows = transition_rows(Path(tmp))
    print("\ntransition spans (5, 12, 25, 50 frames each; both ends within 2 frames; target F1 >= 0.95)")
    print("(F1: analysis.json's transitions; before: the rule they replaced; seams: the spans known")
    print(" before the plan, fades, wipes and dissolves of the picture scan, that segment seams avoid)")
    print(f"{'kind':<12} {'F1':>5} {'before':>7} {'seams':>6}  found")
    for kind, row in rows.items():
        print(
            f"{kind:<12} {row['f1']:>5.2f} {row['f1_before']:>7.2f} {row['f1_seams']:>6.2f}  {row['found']}"
        )
    return rows


PARTS = ("speech", "transitions", "shots")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--type", default="educational", choices=("educational", "general"))
    parser.add_argument("--mode", default="fast", choices=("fast", "balanced", "high_quality"))
    parser.add_argument("--only", choices=PARTS, help="print one of the tables")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    wanted = [args.only] if args.only else PARTS
    speech = speech_table(args.type, args.mode) if "speech" in wanted else {}
    transitions = transition_table() if "transitions" in wanted else {}
    shots = None
    if "shots" in wanted:
        from shots import shot_table

        print("\nshot boundaries against TransNetV2 alone and PySceneDetect (scripts/bench/shots.py)")
        shots = shot_table()
    if args.json:
        rows = {"speech": speech, "transitions": transitions, "shots": shots}
        args.json.write_text(json.dumps(rows, indent=2, default=list))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
