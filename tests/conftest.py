"""Shared fixtures: media generated with ffmpeg, and one Ray session for the whole run.

Every test belongs to one tier, from its folder: ``unit`` (no Ray, no subprocess of raybatch),
``security`` (hostile job files, names and configs, through the CLI), ``integration`` (the
shared 2-CPU Ray session), ``e2e`` (the CLI as a user runs it), ``cluster``
(Ray clusters and an S3 server of their own) and ``realmedia`` (``../shared/media``)."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
from pathlib import Path

import pytest

TIERS = ("unit", "security", "integration", "e2e", "cluster", "realmedia")
SHARED_MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
# A run that hangs fails its test after five minutes without progress, not after Ray Data's
# default half hour (it is read when ray.data is first imported, in every process of the run).
os.environ.setdefault("RAY_DATA_EXECUTION_NO_PROGRESS_TIMEOUT_S", "300")


def pytest_collection_modifyitems(config, items) -> None:
    """Mark every test with its tier (its folder under tests/)."""
    root = Path(__file__).resolve().parent
    for item in items:
        tier = Path(item.fspath).resolve().relative_to(root).parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-y", *args], check=True)


def ffprobe(path: str | Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    return json.loads(out)


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_av(path: Path, *, size="640x360", rate=25, duration=6.0, audio_duration=None, sar=None) -> Path:
    """A testsrc2 video with a gated 'speech-like' tone; optional shorter audio and odd SAR."""
    audio_duration = duration if audio_duration is None else audio_duration
    vf = ["-vf", f"setsar={sar}"] if sar else []
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={duration}",
        "-f", "lavfi", "-i",
        f"sine=frequency=300:sample_rate=48000:duration={audio_duration},"
        "volume='if(lt(mod(t,2),1.2),0.4,0)':eval=frame",
        *vf, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path),
    )  # fmt: skip
    return path


def make_noisy_av(path: Path, *, duration: float) -> Path:
    """A 640x360 video of noise with a tone at high quality: megabytes a second, to fill disks."""
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s=640x360:r=25:d={duration},noise=alls=30:allf=t",
        "-f", "lavfi", "-i", f"sine=frequency=300:sample_rate=48000:d={duration}",
        "-c:v", "libx264", "-crf", "18", "-c:a", "aac", "-shortest", str(path),
    )  # fmt: skip
    return path


def make_video_only(path: Path, *, size="320x240", rate=30, duration=3.0) -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={duration}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    """Core fixtures, generated once per run."""
    root = tmp_path_factory.mktemp("media")
    files = {
        "av": make_av(root / "talk.mp4", duration=12.0),
        "no_audio": make_video_only(root / "screen.mkv"),
        "short_audio": make_av(root / "short_audio.mp4", duration=5.0, audio_duration=2.5),
        "sar": make_av(root / "anamorphic.mp4", size="480x360", duration=2.0, sar="4/3"),
    }
    audio_only = root / "podcast.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", str(audio_only))
    files["audio_only"] = audio_only
    return files


@pytest.fixture(scope="session", autouse=True)
def job_registry(tmp_path_factory):
    """Jobs started by the tests register in a folder of their own, not in ~/.raybatch
    (CLI subprocesses inherit it)."""
    home = tmp_path_factory.mktemp("raybatch_home")
    os.environ["RAYBATCH_HOME"] = str(home)
    # The LLM response cache too; and a developer's own key never makes the tests call out.
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user_cache"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        os.environ.pop(name, None)
    # Ray's token auth stays on, with a token of the test run's own: every Ray process the
    # tests start (embedded, `ray start`, `ray job submit`, CLI subprocesses) reads it from
    # here, and a developer's ~/.ray/auth_token is neither used nor created.
    token = tmp_path_factory.mktemp("ray_auth") / "auth_token"
    token.write_text(secrets.token_hex(32))
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(token)
    os.environ.pop("RAY_AUTH_TOKEN", None)
    os.environ.pop("RAY_ADDRESS", None)
    # No loopback variable here: raybatch must keep its embedded Ray on 127.0.0.1 by itself
    # (tests/e2e/test_loopback.py checks it the way a user starts it).
    os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
    return home


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray instance (2 CPUs, like the CI machine) shared by every test that needs it.

    It also declares one (fake) GPU: model actors are then scheduled with their fractional GPU
    request, as on a GPU cluster, and must still run correctly on the CPU they find."""
    ray = pytest.importorskip("ray")
    from raybatch.executors.cluster import EMBEDDED_SYSTEM_CONFIG, loopback_only

    if not ray.is_initialized():
        # "local": a fresh instance even while a test cluster (tests/cluster) runs on this machine.
        with loopback_only():
            ray.init(
                address="local",
                num_cpus=2,
                num_gpus=1,
                include_dashboard=False,
                log_to_driver=False,
                _system_config=EMBEDDED_SYSTEM_CONFIG,
            )
    yield ray
    ray.shutdown()


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB output filesystem (tmpfs); skipped where this machine cannot mount one."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)
