"""raybatch as someone installs it: the built wheel alone in a fresh virtual environment, the
static ffmpeg the cluster files install, and the ffmpeg gate a run passes before any work."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.conftest import ffprobe, make_av
from tests.helpers import run_raybatch

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
#: What Ubuntu 22.04's ffmpeg and ffprobe print first.
OLD_VERSION = "version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # From a copy of the tracked tree: a build never writes into the checkout.
    source = tmp_path_factory.mktemp("src") / "raybatch"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, files.decode().split("\0")):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_symlink():
            target.symlink_to(os.readlink(ROOT / name))
        elif (ROOT / name).exists():
            shutil.copy2(ROOT / name, target)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("raybatch-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with only the wheel installed; its heavy dependencies are this environment's
    (a .pth line: the same files, nothing copied), and pip must find every requirement there."""
    root = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    site = Path(
        subprocess.check_output(
            [root / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            text=True,
        ).strip()
    )
    (site / "zz_shared_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # The venv's own setuptools (ensurepip's, older than torch allows) would shadow the shared one.
    pip = [root / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "uninstall", "-y", "setuptools"], check=True, capture_output=True)
    installed = subprocess.run([*pip, "install", "--no-index", str(wheel)], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    return root


def test_wheel_carries_types_examples_license_and_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(info).decode())
    assert "raybatch/py.typed" in names
    assert {
        f"raybatch/config/examples/{n}"
        for n in ("batch_config.yaml", "series_config.yaml", "custom_output.yaml")
    } <= names
    assert "raybatch/jobs/templates/report.html.j2" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    assert any(url.startswith("Source, https://") for url in metadata.get_all("Project-URL"))
    requires = metadata.get_all("Requires-Dist")
    assert any(r.startswith("ray[data,default]") and "<2.61" in r for r in requires), requires
    assert not any(n.startswith(("tests/", "scripts/", "configs/")) for n in names)


def test_the_wheel_alone_processes_a_clip_from_outside_the_checkout(venv, tmp_path):
    make_av(tmp_path / "talk.mp4", duration=3.0)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    cli = str(venv / "bin" / "raybatch")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [cli, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )

    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import raybatch; print(raybatch.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    example = run("batch", "config", "--example")
    assert example.returncode == 0 and "max_concurrent_jobs" in example.stdout
    (tmp_path / "batch_config.yaml").write_text(example.stdout)
    assert run("batch", "config", "validate", "batch_config.yaml").stdout == "batch_config.yaml: valid\n"
    done = run(
        "batch",
        "--config",
        "batch_config.yaml",
        "process",
        "talk.mp4",
        "--output",
        "out",
        "--executor",
        "local",
        "--quality",
        "low",
        "--mode",
        "fast",
        "--no-progress-bar",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (video,) = (tmp_path / "out").rglob("enhanced_talk.mp4")
    streams = {s["codec_type"]: s for s in ffprobe(video)["streams"]}
    assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    report = json.loads((tmp_path / "out" / "summary" / "batch_report.json").read_text())
    assert report["totals"]["done"] == 1


def _static_build(tmp_path: Path) -> tuple[Path, str]:
    """An archive laid out as BtbN's builds are (name/bin/ffmpeg, name/bin/ffprobe), holding
    this machine's tools."""
    archive = tmp_path / "ffmpeg-n7.1-latest-linux64-gpl-7.1.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        for tool in ("ffmpeg", "ffprobe"):
            tar.add(shutil.which(tool), arcname=f"ffmpeg-n7.1-latest-linux64-gpl-7.1/bin/{tool}")
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def _install(prefix: Path, archive: Path, digest: str) -> subprocess.CompletedProcess:
    """cluster/install_ffmpeg.sh as the launcher runs it, from a mirror (the archive's file URL)."""
    env = {"PREFIX": str(prefix), "RAYBATCH_FFMPEG_URL": archive.as_uri(), "RAYBATCH_FFMPEG_SHA256": digest}
    script = ROOT / "cluster" / "install_ffmpeg.sh"
    return subprocess.run(["bash", script], env={**os.environ, **env}, capture_output=True, text=True)


def test_install_script_puts_a_passing_ffmpeg_first_on_path(tmp_path):
    archive, digest = _static_build(tmp_path)
    prefix = tmp_path / "prefix"
    done = _install(prefix, archive, digest)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ffmpeg version")
    assert sorted(p.name for p in (prefix / "bin").iterdir()) == ["ffmpeg", "ffprobe"]
    gate = subprocess.run(
        [sys.executable, "-m", "raybatch.media.toolchain", "h264_nvenc"],
        env={**os.environ, "PATH": f"{prefix / 'bin'}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
    )
    assert gate.returncode == 0 and f"({prefix / 'bin' / 'ffmpeg'}): ok for raybatch" in gate.stdout


def test_install_script_refuses_an_archive_with_the_wrong_digest(tmp_path):
    archive, _ = _static_build(tmp_path)
    prefix = tmp_path / "prefix"
    done = _install(prefix, archive, "0" * 64)
    assert done.returncode != 0 and "FAILED" in done.stderr
    assert not (prefix / "bin").exists()


@pytest.fixture
def ubuntu_2204_ffmpeg(tmp_path) -> dict[str, str]:
    """PATH with ffmpeg and ffprobe that report Ubuntu 22.04's 4.4 (and otherwise are this
    machine's, so that only the version is wrong)."""
    shims = tmp_path / "shims"
    shims.mkdir()
    for tool in ("ffmpeg", "ffprobe"):
        real = shutil.which(tool)
        (shims / tool).write_text(
            "#!/bin/sh\n"
            f'case " $* " in *" -version "*) echo "{tool} {OLD_VERSION}"; exit 0;; esac\n'
            f'exec {real} "$@"\n'
        )
        (shims / tool).chmod(0o755)
    return {"PATH": f"{shims}:{os.environ['PATH']}"}


def test_a_run_with_a_too_old_ffmpeg_stops_before_any_work(ubuntu_2204_ffmpeg, tmp_path):
    make_av(tmp_path / "talk.mp4", duration=2.0)
    out = tmp_path / "out"
    done = run_raybatch(
        "batch",
        "process",
        str(tmp_path / "talk.mp4"),
        "--output",
        str(out),
        "--executor",
        "local",
        "--no-progress-bar",
        env=ubuntu_2204_ffmpeg,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "ffmpeg cannot run this job on 1 machine:\n  " in done.stderr
    assert "ffmpeg 4.4 is older than 5.1; ffprobe 4.4 is older than 5.1" in done.stderr
    assert "cluster/install_ffmpeg.sh" in done.stderr
    assert not list(out.rglob("*.mp4"))
