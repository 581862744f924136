"""The model actors and the edit on generated media with known answers, on the shared Ray
session (which declares a fake GPU: the actors request a fraction of it and run on CPU)."""

from __future__ import annotations

import json

import pytest

from raybatch import run_batch
from raybatch.analysis.decide import span_frames
from raybatch.analysis.segments import snap_boundaries
from raybatch.analysis.shots import f1_score, span_f1
from tests.conftest import ffmpeg
from tests.helpers import assert_verified_output, batch_config, load_report

SHOT_CUTS = [50, 90, 94, 144]  # frame where each new shot starts (25 fps); 90-94 is a 4-frame shot
#: [first, end) frames of the gradual transitions in ``gradual.mp4`` (25 fps): a dissolve, a
#: fade through black, a wipe and a slide.
GRADUAL = [(60, 72), (130, 155), (188, 203), (248, 260)]


@pytest.fixture(scope="module")
def analysis_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("analysis_in")
    size = "s=320x180:r=25"
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2={size}:d=2",
        "-f", "lavfi", "-i", f"smptebars={size}:d=1.6",
        "-f", "lavfi", "-i", f"color=c=red:{size}:d=0.16",
        "-f", "lavfi", "-i", f"mandelbrot={size},trim=duration=2",
        "-f", "lavfi", "-i", f"rgbtestsrc={size}:d=1.2",
        "-filter_complex", "[0][1][2][3][4]concat=n=5:v=1:a=0,format=yuv420p",
        "-c:v", "libx264", "-crf", "18", str(root / "shots.mp4"),
    )  # fmt: skip
    # A 12-frame dissolve, a 25-frame fade through black, a 15-frame wipe and a 12-frame slide
    # (xfade: offset = first frame).
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2={size}:d=3",
        "-f", "lavfi", "-i", f"mandelbrot={size},trim=duration=4",
        "-f", "lavfi", "-i", f"smptebars={size}:d=3",
        "-f", "lavfi", "-i", f"life={size}:mold=10:ratio=0.3:seed=1,trim=duration=3",
        "-f", "lavfi", "-i", f"testsrc2={size}:d=2,hue=h=140",
        "-filter_complex",
        "[0]settb=1/25[a];[1]settb=1/25[b];[2]settb=1/25[c];[3]settb=1/25[d];[4]settb=1/25[e];"
        "[a][b]xfade=transition=dissolve:duration=0.48:offset=2.4[ab];"
        "[ab][c]xfade=transition=fadeblack:duration=1.0:offset=5.2[abc];"
        "[abc][d]xfade=transition=wipeleft:duration=0.6:offset=7.52[abcd];"
        "[abcd][e]xfade=transition=slideup:duration=0.48:offset=9.92,format=yuv420p",
        "-c:v", "libx264", "-crf", "18", str(root / "gradual.mp4"),
    )  # fmt: skip
    # Tone bursts: sound 0-3 s and 6-9 s, silence 3-6 s and 9-12 s.
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=12",
        "-f", "lavfi", "-i", "aevalsrc='if(lt(mod(t,6),3),0.3*sin(2*PI*300*t),0)':s=48000:d=12",
        "-c:v", "libx264", "-crf", "23", "-c:a", "aac", "-shortest", str(root / "bursts.mp4"),
    )  # fmt: skip
    return root


@pytest.fixture(scope="module")
def analysed(ray_session, analysis_batch, tmp_path_factory):
    out = tmp_path_factory.mktemp("analysis_out")
    config = batch_config(analysis_batch, out, "ray", content_type="general")
    result = run_batch(config)
    assert result.ok, result.failed
    return config, out


def analysis_of(out, name):
    return json.loads((out / name / "metadata" / "analysis.json").read_text())


def test_shots_are_found_frame_accurately_including_a_four_frame_shot(analysed):
    _, out = analysed
    shots = [s["frame"] for s in analysis_of(out, "shots")["shots"]]
    score = f1_score(shots, SHOT_CUTS, tolerance=2)
    assert score["recall"] == 1.0, shots
    assert score["precision"] >= 0.8, shots


def test_gradual_transitions_are_spans_with_both_ends_found(analysed):
    _, out = analysed
    spans = [(round(a * 25), round(b * 25)) for a, b in analysis_of(out, "gradual")["transitions"]]
    assert span_f1(spans, GRADUAL)["f1"] == 1.0, spans
    shots = [s["frame"] for s in analysis_of(out, "gradual")["shots"]]
    # A shot starts in every transition (the wipe's and the slide's from their spans), and
    # nowhere else.
    assert all(any(a <= f <= b for f in shots) for a, b in GRADUAL), shots
    assert all(any(a <= f <= b for a, b in GRADUAL) for f in shots), shots
    # Wipes and slides are known before the shot model, for the segment seams.
    wipes = [(round(a * 25), round(b * 25)) for a, b in analysis_of(out, "gradual")["picture"]["wipes"]]
    assert span_f1(wipes, GRADUAL[2:])["f1"] == 1.0, wipes


def test_silences_are_found_and_long_ones_cut(analysed):
    _, out = analysed
    analysis = analysis_of(out, "bursts")
    silences = analysis["silences"]
    assert any(abs(a - 3.0) < 0.1 and abs(b - 6.0) < 0.1 for a, b in silences), silences
    edl = json.loads((out / "bursts" / "metadata" / "edl.json").read_text())
    # general + fast: silences of 3 s or more go, keeping 0.5 s of air on each side.
    cuts = [(c["start_s"], c["end_s"]) for c in edl["cuts"]]
    assert len(cuts) == 2
    for (start, end), expected in zip(cuts, [(3.5, 5.5), (9.5, 12.0)], strict=True):
        assert start == pytest.approx(expected[0], abs=0.1) and end == pytest.approx(expected[1], abs=0.1)
    kept = edl["kept_duration_s"]
    assert kept == pytest.approx(7.5, abs=0.2)
    report = load_report(out)
    video = next(v for v in report["videos"] if v["video"] == "bursts")
    assert video["output_duration_s"] == pytest.approx(kept, abs=0.04)
    assert_verified_output(
        out / "bursts" / "video" / "enhanced_bursts.mp4", expected_duration=kept, fps="25", has_audio=True
    )
    otio = json.loads((out / "bursts" / "metadata" / "edl.otio").read_text())
    assert otio["OTIO_SCHEMA"].startswith("Timeline")


def test_model_actors_request_the_gpu_and_run_on_cpu(analysed):
    _, out = analysed
    models = load_report(out)["models"]
    assert models["num_gpus"] == pytest.approx(0.25)
    assert analysis_of(out, "shots")["models"]["shots"]["device"] == "cpu"
    assert analysis_of(out, "shots")["models"]["sound"]["device"] is None  # no audio: no VAD run
    devices = analysis_of(out, "bursts")["models"]
    assert devices["shots"]["device"] == "cpu" and devices["sound"]["device"] == "cpu"


def test_rerun_uses_the_analysis_cache(analysed):
    config, out = analysed
    again = run_batch(config)
    assert again.ok
    models = analysis_of(out, "shots")["models"]
    assert models["picture"]["cached"] and models["sound"]["cached"] and models["shots"]["cached"]


@pytest.fixture(scope="module")
def grouped(ray_session, analysis_batch, tmp_path_factory):
    """Detected types, processing grouped by type and outputs organised by type."""
    root = tmp_path_factory.mktemp("grouped_in")
    for name in ("bursts.mp4", "shots.mp4"):
        (root / name).symlink_to(analysis_batch / name)
    # A steady tone all the way: music. Last by name, first by type.
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=6",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:d=6",
        "-c:v", "libx264", "-crf", "23", "-c:a", "aac", "-shortest", str(root / "zz_tone.mp4"),
    )  # fmt: skip
    out = tmp_path_factory.mktemp("grouped_out")
    config = batch_config(root, out, "ray", content_type="general", auto_detect_type=True)
    config.batch.group_by_type = True
    config.output.organize_by_type = True
    result = run_batch(config)
    assert result.ok, result.failed
    return out


def test_detected_types_group_the_batch_and_the_outputs(grouped):
    report = load_report(grouped)
    assert [v["video"] for v in report["videos"]] == ["zz_tone", "bursts", "shots"]
    assert [v["content_type"] for v in report["videos"]] == ["music", "general", "general"]
    assert {t: g["videos"] for t, g in report["content_types"].items()} == {"music": 1, "general": 2}
    assert_verified_output(
        grouped / "music" / "zz_tone" / "video" / "enhanced_zz_tone.mp4",
        expected_duration=6.0,
        fps="25",
        has_audio=True,
    )
    analysis = json.loads((grouped / "general" / "shots" / "metadata" / "analysis.json").read_text())
    assert analysis["content_type"]["value"] == "general"
    assert "no audio" in analysis["content_type"]["reason"]
    assert not (grouped / "zz_tone").exists()


def test_grouping_analyses_the_whole_batch_before_encoding(grouped):
    import pyarrow.parquet as pq

    metrics = pq.read_table(next((grouped / "summary" / "metrics").glob("*.parquet"))).to_pandas()
    decided = metrics[metrics["stage"] == "decide"]
    encoded = metrics[metrics["stage"] == "encode"]
    assert len(decided) == 3
    assert decided["end"].max() <= encoded["start"].min()
    first = encoded.sort_values("start").iloc[0]
    assert first["video"] == "zz_tone"


def test_no_segment_seam_falls_inside_a_gradual_transition(analysed):
    """The seams are placed before the shot model runs: the picture scan's fades, wipes and
    dissolves keep them out of every transition, wherever the even split would put them."""
    _, out = analysed
    analysis = analysis_of(out, "gradual")
    picture = analysis["picture"]
    avoid = span_frames([*picture["fades"], *picture["wipes"], *picture["dissolves"]], "25/1")
    total = round(analysis["duration_s"] * 25)
    moved = 0
    for count in (5, 6, 7):  # even splits land inside the dissolve, the fade and the slide
        even = [round(k * total / count) for k in range(1, count)]
        seams = snap_boundaries(total, count, [], [], avoid=list(avoid))
        assert not any(a < s < b for s in seams for a, b in GRADUAL), (count, even, seams, avoid)
        moved += sum(a < s < b for s in even for a, b in GRADUAL)
    assert moved >= 3
