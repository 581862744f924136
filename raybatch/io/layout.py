"""Where every file of a job lives: the one place that turns a job and a video into URIs.

Published files go under the output root (each video's where ``raybatch.io.naming`` puts
them, and ``OUT/summary``); raybatch's own state under ``OUT/.raybatch`` (jobs and their manifests, the
analysis cache, and each job's work folder, whose files live only until the job completes).
Nothing else in the package builds a path inside the output location.
"""

from __future__ import annotations

from dataclasses import dataclass

from raybatch.io.storage import join

#: raybatch's own folder inside an output location.
STATE_DIR = ".raybatch"
SUMMARY_DIR = "summary"

#: The published per-video files the work folder holds until the video is committed.
ANALYSIS_FILES = ("analysis.json", "edl.json", "edl.otio")


@dataclass(frozen=True)
class Layout:
    """The files of job ``job_id`` under the output location ``root``."""

    root: str
    job_id: str

    # -- the job's own state -------------------------------------------------------------------

    @property
    def job_dir(self) -> str:
        return join(self.root, STATE_DIR, "jobs", self.job_id)

    @property
    def manifest(self) -> str:
        return join(self.job_dir, "manifest.json")

    def checkpoint(self, name: str) -> str:
        return join(self.job_dir, "checkpoints", f"{name}.json")

    @property
    def work_root(self) -> str:
        """Intermediate files of every video of the job (removed once the job completes)."""
        return join(self.root, STATE_DIR, "work", self.job_id)

    @property
    def work_marker(self) -> str:
        """The file that marks the work folder as raybatch's own, made for this job: only a
        folder so marked is ever removed."""
        return join(self.work_root, ".raybatch-work")

    # -- one video's work folder ---------------------------------------------------------------

    def work_dir(self, video_key: str) -> str:
        # Keys may hold folders (preserve_directory_structure); the work folder stays flat.
        return join(self.work_root, video_key.replace("/", "__"))

    def segment(self, video_key: str, index: int, segment_id: str) -> str:
        return join(self.work_dir(video_key), f"seg_{index:05d}_{segment_id}.mp4")

    def audio_track(self, video_key: str) -> str:
        """The normalised AAC track the assembly muxes."""
        return join(self.work_dir(video_key), "audio.m4a")

    def edited_sound(self, video_key: str) -> str:
        """The sound with the edit and the voice clean-up applied, before normalisation."""
        return join(self.work_dir(video_key), "sound_edited.wav")

    def small_frames(self, video_key: str) -> str:
        """The 48x27 frames the picture analysis leaves for the shot model."""
        return join(self.work_dir(video_key), "small_frames.rgb24")

    def picture_signals(self, video_key: str) -> str:
        """Per-frame content change and brightness, for the shot model's fusion."""
        return join(self.work_dir(video_key), "picture_signals.npz")

    def frame_samples(self, video_key: str) -> str:
        """Sampled frame statistics, for thumbnail selection."""
        return join(self.work_dir(video_key), "frame_samples.json")

    def work_metadata(self, video_key: str, name: str) -> str:
        """``analysis.json``, ``edl.json`` or ``edl.otio`` until the video is published."""
        return join(self.work_dir(video_key), "metadata", name)

    def assembled(self, video_key: str) -> str:
        """The assembled output, verified and packaged before it is published."""
        return join(self.work_dir(video_key), "assembled.mp4")

    def package_dir(self, video_key: str) -> str:
        """Thumbnails and metadata made for the video, published with it."""
        return join(self.work_dir(video_key), "package")

    # -- published files -----------------------------------------------------------------------

    def file(self, relative: str) -> str:
        """A published file, by its path under the output root (``raybatch.io.naming``)."""
        return join(self.root, relative)

    def summary(self, name: str) -> str:
        return join(self.root, SUMMARY_DIR, name)

    def metrics_parquet(self, run_number: int) -> str:
        """One Parquet file per run of the job (process, then each resume or retry)."""
        name = f"{self.job_id}.parquet" if run_number == 1 else f"{self.job_id}.run{run_number}.parquet"
        return join(self.root, SUMMARY_DIR, "metrics", name)


def lock_path(root: str) -> str:
    """The lock of the job writing into an output location (see ``raybatch.jobs.lock``)."""
    return join(root, STATE_DIR, "lock.json")


def jobs_dir(root: str) -> str:
    """Every job's state under an output location."""
    return join(root, STATE_DIR, "jobs")


def default_cache_root(root: str) -> str:
    """Where an output location keeps its caches (one folder each) unless ``--cache-dir`` says."""
    return join(root, STATE_DIR, "cache")


def write_check_path(root: str, token: str) -> str:
    """The probe object written (and removed) to check that an output location is writable."""
    return join(root, STATE_DIR, f".write-check-{token}")
