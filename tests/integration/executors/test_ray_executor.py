"""The pipeline on generated media, on the shared 2-CPU Ray session and in-process."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest

from raybatch import run_batch
from tests.conftest import make_video_only
from tests.helpers import assert_verified_output, batch_config, load_report, video_md5s


@pytest.fixture(scope="module")
def batch_dir(media, tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    for key in ("av", "no_audio", "short_audio"):
        shutil.copy(media[key], root / media[key].name)
    return root


def config_for(batch_dir, out, executor, **processing):
    return batch_config(batch_dir, out, executor, segment_seconds=5, min_segment_seconds=2, **processing)


#: What the run's listener heard: (event, payload), in order.
HEARD: list[tuple[str, object]] = []


@pytest.fixture(scope="module")
def ray_run(ray_session, batch_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ray_out")
    listener = lambda event, payload: HEARD.append((event, payload))  # noqa: E731
    return run_batch(config_for(batch_dir, out, "ray"), listener=listener), out


def test_workers_tell_the_driver_when_a_stage_takes_a_video(ray_run):
    result, _ = ray_run
    started = [payload for event, payload in HEARD if event == "stage"]
    ended = [payload.video for event, payload in HEARD if event == "video"]
    assert sorted(ended) == sorted(o.video for o in result.outcomes)
    for video in ended:
        stages = [stage for key, stage in started if key == video]
        assert stages[:1] == ["probe"], stages  # the first task of the video, seen as it began
        assert "analyse_video" in stages


def test_ray_pipeline_verifies_every_output(ray_run):
    result, out = ray_run
    assert result.ok, result.failed
    report = load_report(out)
    assert report["totals"] == {**report["totals"], "videos": 3, "done": 3, "failed": 0}
    entries = {v["video"]: v for v in report["videos"]}
    assert_verified_output(
        out / "talk/video/enhanced_talk.mp4", expected_duration=12.0, fps="25/1", has_audio=True
    )
    assert_verified_output(
        out / "screen/video/enhanced_screen.mp4", expected_duration=3.0, fps="30/1", has_audio=False
    )
    # audio shorter than the video is padded with silence to the video's length
    assert_verified_output(
        out / "short_audio/video/enhanced_short_audio.mp4", expected_duration=5.0, fps="25/1", has_audio=True
    )
    talk = entries["talk"]
    assert talk["segments"] >= 2
    assert abs(talk["loudness"]["after"]["integrated_lufs"] - talk["loudness"]["target_lufs"]) <= 0.5
    assert talk["loudness"]["after"]["true_peak_dbtp"] <= -1.5
    assert entries["screen"]["has_audio"] is False and "loudness" in entries["screen"]
    assert not (out / ".raybatch" / "work").exists() or not any((out / ".raybatch" / "work").rglob("*.mp4"))


def test_segments_of_one_video_run_on_several_encoders(ray_run):
    _result, out = ray_run
    table = pq.read_table(next((out / "summary" / "metrics").glob("*.parquet"))).to_pylist()
    encodes = [r for r in table if r["stage"] == "encode" and r["video"] == "talk"]
    assert len(encodes) >= 2
    assert len({r["worker"] for r in encodes}) >= 2, "segments were not spread over the actor pool"
    assert all(r["frames"] > 0 and r["wall_s"] > 0 and r["cpu_s"] > 0 for r in encodes)
    stages = {r["stage"] for r in table}
    assert stages == {
        "probe",
        "analyse_video",
        "analyse_sound",
        "decide",
        "plan",
        "edit_audio",
        "audio",
        "detect_shots",
        "encode",
        "assemble",
        "verify",
        "package",
        "publish",
    }


def test_pool_is_sized_for_two_cpus(ray_run):
    _, out = ray_run
    pool = load_report(out)["pool"]
    assert pool["size"] == 2
    # Encoders, the two model actors and the task reserve together fit the two CPUs.
    models = load_report(out)["models"]
    assert (
        pool["size"] * pool["num_cpus"] + 2 * models["size"] * models["num_cpus"] <= 2 - pool["reserved_cpus"]
    )


def test_local_and_ray_executors_produce_the_same_video(ray_run, batch_dir, tmp_path):
    _, ray_out = ray_run
    # The local executor sizes slots from this machine; pin them so both plan the same segments.
    local = run_batch(config_for(batch_dir, tmp_path, "local"))
    assert local.ok
    ray_report, local_report = load_report(ray_out), load_report(tmp_path)
    assert [v["segments"] for v in ray_report["videos"]] == [v["segments"] for v in local_report["videos"]]
    for name in ("talk", "screen", "short_audio"):
        ray_file = ray_out / name / "video" / f"enhanced_{name}.mp4"
        local_file = tmp_path / name / "video" / f"enhanced_{name}.mp4"
        assert video_md5s(ray_file) == video_md5s(local_file)


def test_a_damaged_segment_fails_the_decode_check_its_encoder_runs(tmp_path):
    """Verification decodes every frame in the encoders now: the check they run must catch a
    segment whose bitstream is damaged, and pass an intact one."""
    from raybatch.media.commands import segment_decode_args
    from raybatch.media.loudness import decode_errors
    from raybatch.media.runner import run_command

    intact = make_video_only(tmp_path / "segment.mp4", duration=2.0)
    data = bytearray(intact.read_bytes())
    mdat = data.index(b"mdat")
    for offset in range(mdat + 2000, len(data) - 2000, 997):  # scribble over slices of frames
        data[offset : offset + 64] = bytes(64)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))

    ok = run_command(segment_decode_args(str(intact)), check=False)
    assert ok.returncode == 0 and decode_errors(ok.stderr) == []
    bad = run_command(segment_decode_args(str(damaged)), check=False)
    assert bad.returncode != 0 or decode_errors(bad.stderr), bad.stderr[-500:]
