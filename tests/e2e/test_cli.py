"""The CLI end to end, as a user runs it: real processes, generated media, real outputs."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from tests.conftest import ffmpeg, make_av, make_video_only, sha256
from tests.helpers import assert_verified_output, load_report
from tests.helpers import run_raybatch as raybatch

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def messy_batch(media, tmp_path_factory):
    """Good videos with colliding names beside files that are not videos."""
    root = tmp_path_factory.mktemp("messy")
    (root / "a").mkdir()
    (root / "b").mkdir()
    make_video_only(root / "a" / "clip.mp4", duration=2.0)
    make_video_only(root / "b" / "clip.mp4", size="160x120", duration=1.0)
    make_av(root / "clip.mkv", duration=2.0)
    shutil.copy(media["sar"], root / "anamorphic.mp4")
    shutil.copy(media["audio_only"], root / "podcast.m4a")
    (root / "empty.mp4").write_bytes(b"")
    (root / "random.mp4").write_bytes(os.urandom(4096))
    (root / "notes.mp4").write_text("this is a text file with a video name\n")
    return root


@pytest.fixture(scope="module")
def messy_run(messy_batch, tmp_path_factory):
    before = {p: sha256(p) for p in messy_batch.rglob("*") if p.is_file()}
    out = tmp_path_factory.mktemp("out")
    result = raybatch(
        "batch", "process", str(messy_batch), "--output", str(out), "--recursive",
        "--executor", "local", "--quality", "low", "--mode", "fast", "--type", "educational",
    )  # fmt: skip
    after = {p: sha256(p) for p in messy_batch.rglob("*") if p.is_file()}
    return result, out, before, after


def test_exit_code_says_some_failed(messy_run):
    result, *_ = messy_run
    assert result.returncode == 1, result.stderr
    assert "4 done, 4 failed of 8 videos" in result.stdout


def test_colliding_names_get_their_own_folders(messy_run):
    _, out, *_ = messy_run
    for key, duration, fps, audio in [
        ("a_clip_mp4", 2.0, "30/1", False),
        ("b_clip_mp4", 1.0, "30/1", False),
        ("clip_mkv", 2.0, "25/1", True),
    ]:
        assert_verified_output(
            out / key / "video" / f"enhanced_{key}.mp4", expected_duration=duration, fps=fps, has_audio=audio
        )
    assert not (out / "series_coordination").exists()  # no series without --coordinate-series


def test_non_square_pixels_become_square(messy_run):
    _, out, *_ = messy_run
    info = assert_verified_output(
        out / "anamorphic/video/enhanced_anamorphic.mp4", expected_duration=2.0, fps="25/1", has_audio=True
    )
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (640, 360)  # 480x360 at SAR 4:3
    assert video.get("sample_aspect_ratio", "1:1") in ("1:1", "0:1")


def test_every_bad_file_has_one_clear_error(messy_run):
    _, out, *_ = messy_run
    errors = json.loads((out / "summary" / "error_log.json").read_text())["errors"]
    by_file = {Path(e["file"]).name: e for e in errors}
    assert set(by_file) == {"podcast.m4a", "empty.mp4", "random.mp4", "notes.mp4"}
    for error in errors:
        assert error["stage"] == "probe" and error["message"] and error["hint"]
    assert "no video stream" in by_file["podcast.m4a"]["message"]
    assert "empty" in by_file["empty.mp4"]["message"]


def test_inputs_are_never_modified(messy_run):
    _, _, before, after = messy_run
    assert before == after


def test_reports_and_metrics(messy_run):
    _, out, *_ = messy_run
    report = load_report(out)
    assert report["job_id"].startswith("batch_") and len(report["job_id"]) == len("batch_20240107_143022")
    assert report["config"]["processing"]["content_type"] == "educational"
    assert report["status"] == "completed_with_errors"
    done = [v for v in report["videos"] if v["status"] == "done"]
    for video in done:
        assert video["output_size_bytes"] > 0 and video["input_duration_s"] > 0
    with_audio = [v for v in done if v["has_audio"]]
    for video in with_audio:
        assert video["loudness"]["target_lufs"] == -16
        assert abs(video["loudness"]["after"]["integrated_lufs"] + 16) <= 0.5
        assert video["loudness"]["before"]["integrated_lufs"] is not None
    metrics = json.loads((out / "summary" / "processing_metrics.json").read_text())
    assert metrics["videos_done"] == 4 and metrics["realtime_factor"] > 0
    assert metrics["peak_memory_bytes"] > 0
    rows = pq.read_table(next((out / "summary" / "metrics").glob("*.parquet"))).to_pylist()
    assert {r["video"] for r in rows if r["stage"] == "verify"} == {v["video"] for v in done}
    assert not list(out.rglob("*.part-*")), "temporary files left behind"


def test_config_error_exits_2_and_names_the_fix(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("batch:\n  error_handling: maybe\n")
    result = raybatch("batch", "--config", str(bad), "process", str(tmp_path))
    assert result.returncode == 2
    assert "batch.error_handling" in result.stderr and "'continue' or 'stop'" in result.stderr


def test_missing_input_exits_2(tmp_path):
    result = raybatch("batch", "process", str(tmp_path / "nope"), "--executor", "local")
    assert result.returncode == 2 and "no such file or folder" in result.stderr


def test_stop_on_first_failure(tmp_path, media):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a_broken.mp4").write_bytes(b"not a video")
    shutil.copy(media["no_audio"], src / "b_good.mkv")
    out = tmp_path / "out"
    result = raybatch(
        "batch", "process", str(src), "--output", str(out), "--executor", "local", "--error-handling", "stop"
    )
    assert result.returncode == 1
    report = load_report(out)
    assert [v["status"] for v in report["videos"]] == ["failed", "cancelled"]
    assert not (out / "b_good").exists()


def test_an_embedded_ray_run_listens_on_loopback_only_and_shows_only_raybatch(tmp_path):
    """The CLI as a user starts it, without RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER in the environment:
    no process of its Ray listens beyond 127.0.0.1, Ray's own console lines stay out of the
    terminal, and the stages' log records (written in Ray workers) reach it at --log-level."""
    src = tmp_path / "in"
    src.mkdir()
    make_av(src / "talk.mp4", duration=4.0)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    command = [sys.executable, "-m", "raybatch", "batch", "process", str(src), "--output", str(out),
               "--quality", "low", "--mode", "fast", "--type", "music", "--log-level", "INFO"]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    listening = set()
    while proc.poll() is None:
        listening |= listening_addresses(proc.pid)
        time.sleep(0.5)
    stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stderr
    assert len(listening) >= 3, "too few Ray processes seen listening to judge"
    assert all(loopback(ip) for _, ip, _ in listening), listening
    for noise in ("core_worker", "streaming_executor", "Token authentication", "Warning", "Progress bars"):
        assert noise not in stderr, stderr
    assert "[analyse_sound] Silero VAD on cpu" in stderr and "[detect_shots] TransNetV2 on cpu" in stderr
    assert_verified_output(
        out / "talk/video/enhanced_talk.mp4", expected_duration=4.0, fps="25/1", has_audio=True
    )
    assert load_report(out)["executor"] == "ray" and "1 done, 0 failed" in stdout


def loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or address).is_loopback


def listening_addresses(pid: int) -> set[tuple[str, str, int]]:
    """(process, address, port) of every listening socket of ``pid`` and its descendants."""
    try:
        root = psutil.Process(pid)
        tree = {root.pid: root, **{child.pid: child for child in root.children(recursive=True)}}
    except psutil.NoSuchProcess:
        return set()
    found = set()
    # One scan of the machine's sockets per look (a scan per process kept both cores busy and
    # slowed the run it watched by half).
    for conn in psutil.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.pid in tree:
            with contextlib.suppress(psutil.Error):
                found.add((tree[conn.pid].name(), conn.laddr.ip, conn.laddr.port))
    return found


def test_a_bug_is_one_line_and_a_file_and_raybatch_debug_shows_it(tmp_path):
    """Through the real entry point: a programming error inside a command (injected here) is
    not dressed up as a usage error."""
    inject = (
        "import sys; import raybatch.cli.main as m; "
        "m.registered_jobs = lambda: {}['no such key']; "
        "sys.argv = ['raybatch', 'batch', 'status']; m.main()"
    )
    env = {**os.environ, "RAYBATCH_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", inject], env=env, capture_output=True, text=True)
    assert result.returncode == 70 and len(result.stderr.strip().splitlines()) == 1
    assert "raybatch hit a bug (KeyError" in result.stderr and "Traceback" not in result.stderr
    (report,) = (tmp_path / "crashes").iterdir()
    assert str(report) in result.stderr and "KeyError: 'no such key'" in report.read_text()
    debug = subprocess.run(
        [sys.executable, "-c", inject], env={**env, "RAYBATCH_DEBUG": "1"}, capture_output=True, text=True
    )
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr


def test_folder_without_videos_exits_2(tmp_path):
    (tmp_path / "notes.txt").write_text("no videos here")
    result = raybatch("batch", "process", str(tmp_path), "--executor", "local")
    assert result.returncode == 2
    assert "no files with a video or audio extension found" in result.stderr
    assert "--recursive" in result.stderr


def test_detected_types_group_the_batch_through_the_cli(tmp_path):
    """--auto-detect-type, --group-by-type, --cache-size and --cache-dir as a user types them."""
    videos = tmp_path / "in"
    videos.mkdir()
    make_video_only(videos / "a_silent.mp4", duration=2.0)
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=4",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:d=4",
        "-c:v", "libx264", "-crf", "23", "-c:a", "aac", "-shortest", str(videos / "b_tone.mp4"),
    )  # fmt: skip
    out, cache = tmp_path / "out", tmp_path / "cache"
    result = raybatch(
        "batch", "process", str(videos), "--output", str(out), "--executor", "local",
        "--quality", "low", "--mode", "fast", "--auto-detect-type", "--group-by-type",
        "--cache-size", "50MB", "--cache-dir", str(cache), "--no-progress-bar",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = load_report(out)
    assert report["config"]["output"]["cache_size"] == "50MB"
    assert report["config"]["batch"]["group_by_type"] and report["config"]["processing"]["auto_detect_type"]
    assert [(v["video"], v["content_type"]) for v in report["videos"]] == [
        ("b_tone", "music"),
        ("a_silent", "general"),
    ]
    assert list(report["content_types"]) == ["music", "general"]
    assert any(cache.rglob("*.json")), "the analysis cache lives where --cache-dir says"
    assert not (out / ".raybatch" / "cache").exists()
    analysis = json.loads((out / "b_tone" / "metadata" / "analysis.json").read_text())
    assert analysis["content_type"]["value"] == "music"
    assert "steady level" in analysis["content_type"]["reason"]
    assert analysis["models"]["shots"]["device"] == "cpu"


def test_bad_cache_size_is_a_usage_error(tmp_path, media):
    result = raybatch("batch", "process", str(media["av"]), "--output", str(tmp_path), "--cache-size", "lots")
    assert result.returncode == 2
    assert "cache_size" in result.stderr


def test_summary_reports_off_writes_no_summary_and_says_where_the_state_is(tmp_path):
    (tmp_path / "in").mkdir()
    make_av(tmp_path / "in" / "talk.mp4", duration=2.0)
    (tmp_path / "in" / "broken.mp4").write_text("not a video\n")
    config = tmp_path / "quiet.yaml"
    config.write_text("output:\n  create_summary_reports: false\n")
    out = tmp_path / "out"
    result = raybatch(
        "batch", "process", str(tmp_path / "in"), "--output", str(out), "--config", str(config),
        "--executor", "local", "--quality", "low", "--mode", "fast", "--no-progress-bar",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert not (out / "summary").exists()
    assert "Report:  none (output.create_summary_reports is false)" in result.stdout
    assert "error_log.json" not in result.stdout + result.stderr
    assert "broken.mp4: [probe]" in result.stderr
    assert list(out.rglob("enhanced_talk.mp4"))


@pytest.mark.parametrize("level", ["basic", "detailed"])
def test_log_errors_sets_how_much_each_error_record_says(tmp_path, level):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.mp4").write_text("not a video\n")
    out = tmp_path / "out"
    result = raybatch(
        "batch", "process", str(tmp_path / "in"), "--output", str(out), "--executor", "local",
        "--error-handling", "continue", "--log-errors", level, "--no-progress-bar",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    (record,) = json.loads((out / "summary" / "error_log.json").read_text())["errors"]
    assert record["stage"] == "probe" and "broken.mp4" in record["file"] and record["hint"]
    if level == "basic":
        assert set(record) == {"video", "file", "stage", "message", "hint", "attempt"}
    else:
        assert "Invalid data found" in record["detail"] and record["command"].startswith("ffprobe ")
        assert record["inputs"] == {"row": "video", "source": record["file"]}
