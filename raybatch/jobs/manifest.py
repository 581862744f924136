"""The job manifest: everything needed to see, resume or retry a job, stored with its outputs.

``OUT/.raybatch/jobs/<job_id>/manifest.json`` holds the resolved configuration, every input with
its content fingerprint, and per video its state, current stage, attempts, error, output and
finished segments. It is written atomically (temporary name, then rename or upload-and-move), so
a crash leaves the previous complete version. Named checkpoints are copies under
``checkpoints/<name>.json``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from raybatch.errors import JobError
from raybatch.io.layout import Layout
from raybatch.io.storage import exists, is_storage_failure, read_json, write_json_atomic
from raybatch.jobs.lock import shown_state
from raybatch.jobs.records import Outcome, VideoRef
from raybatch.jobs.schema import check_job_id, valid_name, validate_manifest

log = logging.getLogger(__name__)

#: A video's states. ``queued`` and ``running`` are unfinished; the rest are final for an attempt.
UNFINISHED = ("queued", "running")
PERMANENT_STAGES = ("discover", "probe")  # the input itself is bad: retrying cannot help


def valid_checkpoint_name(name: str) -> bool:
    return valid_name(name) and len(name) <= 64


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class JobManifest:
    """A job's state; :meth:`save` writes it atomically (item updates at most every few seconds)."""

    job_id: str
    output: str
    input: str
    config: dict[str, Any]
    #: For a job of listed videos, the list file: the only sources its manifest may name.
    input_list: str | None = None
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: str = "running"
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)
    finished_at: str | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[str] = field(default_factory=list)
    _last_save: float = 0.0

    SAVE_EVERY_S = 2.0

    @property
    def layout(self) -> Layout:
        """Where the job's files live (derived from the output and the id, never stored)."""
        return Layout(self.output, self.job_id)

    @property
    def uri(self) -> str:
        return self.layout.manifest

    @property
    def work(self) -> str:
        """The job's work folder (intermediate files until the job completes)."""
        return self.layout.work_root

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "state": self.state,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "finished_at": self.finished_at,
            "output": self.output,
            "work": self.work,
            "input": self.input,
            "input_list": self.input_list,
            "config": self.config,
            "runs": self.runs,
            "checkpoints": self.checkpoints,
            "counts": self.counts(),
            "videos": self.videos,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobManifest:
        names = {"job_id", "output", "input", "input_list", "config", "videos", "state", "created_at"}
        names |= {"updated_at", "finished_at", "runs", "checkpoints"}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def load(cls, output_root: str, job_id: str, checkpoint: str | None = None) -> JobManifest:
        """The job's manifest, or one of its named checkpoints, once validated (see
        :mod:`raybatch.jobs.schema`): the job lives where its manifest was found."""
        check_job_id(job_id)
        if checkpoint is not None and not valid_name(checkpoint):
            raise JobError(f"checkpoint name {checkpoint!r}: use letters, digits, '.', '_' or '-'")
        layout = Layout(output_root, job_id)
        uri = layout.checkpoint(checkpoint) if checkpoint else layout.manifest
        if not exists(uri):
            what = f"checkpoint {checkpoint!r} of job {job_id}" if checkpoint else f"job {job_id}"
            raise JobError(f"no manifest for {what} at {uri}", hint="see raybatch batch status")
        try:
            data = read_json(uri)
        except (ValueError, UnicodeDecodeError) as exc:
            raise JobError(
                f"{uri} is not a job manifest (not JSON: {exc})",
                hint="restore it from a checkpoint (checkpoints/ beside it) or start the job again",
            ) from None
        data = validate_manifest(data, uri, job_id=job_id)
        return cls.from_dict({**data, "output": output_root})

    def save(self, force: bool = True) -> None:
        now = time.monotonic()
        if not force and now - self._last_save < self.SAVE_EVERY_S:
            return
        self.updated_at = _now()
        try:
            write_json_atomic(self.uri, self.to_dict())
        except OSError as exc:
            # A full or read-only output must not stop the videos in flight; the previous
            # manifest stays intact (atomic writes), and the next save tries again.
            log.warning("could not save the job manifest %s: %s", self.uri, exc)
            return
        self._last_save = now

    def save_checkpoint(self, name: str) -> str:
        """A named snapshot of the manifest as it is now."""
        if not valid_checkpoint_name(name):
            raise JobError(f"checkpoint name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        if name not in self.checkpoints:
            self.checkpoints.append(name)
        self.save()
        uri = self.layout.checkpoint(name)
        write_json_atomic(uri, {**self.to_dict(), "checkpoint": name, "checkpointed_at": _now()})
        return uri

    # -- per-video bookkeeping ---------------------------------------------------------------

    def add_video(self, key: str, source: str, relative_path: str, size_bytes: int, fingerprint: str) -> None:
        self.videos[key] = {
            "source": source,
            "relative_path": relative_path,
            "size_bytes": size_bytes,
            "fingerprint": fingerprint,
            "state": "queued",
            "stage": None,
            "attempts": 0,
            "error": None,
            "output": None,
            "segments_total": None,
            "segments_done": [],
            "started_at": None,
            "finished_at": None,
        }

    def video_ref(self, key: str) -> VideoRef:
        """The input behind one of the job's videos."""
        video = self.videos[key]
        return VideoRef(
            key, video["source"], video["relative_path"], video["size_bytes"], video["fingerprint"]
        )

    def queue_video(self, key: str) -> None:
        """A run takes the video on: one more attempt."""
        video = self.videos[key]
        video.update(state="queued", attempts=video["attempts"] + 1, error=None, working_on=None)

    def start_video(self, key: str) -> None:
        """A stage took the video, or its first row is back: it is being worked on."""
        video = self.videos.get(key)
        if video is not None and video["state"] == "queued":
            video.update(state="running", started_at=_now())

    def input_changed(self, key: str, fingerprint: str, size_bytes: int) -> None:
        """The input's content changed since the job recorded it: it is processed afresh."""
        self.videos[key].update(
            fingerprint=fingerprint, size_bytes=size_bytes, segments_done=[], changed_since_start=True
        )

    def note_stage_started(self, key: str, stage: str) -> None:
        """A stage took a row of the video (shown as what it is working on)."""
        video = self.videos.get(key)
        if video is not None and video["state"] == "running":
            video["working_on"] = stage
            self.save(force=False)

    def note_row(self, key: str, kind: str, segment_id: str, stage: str, segments: int, ok: bool) -> None:
        """A row of the video came back from its stages (``segments``: how many it was split into;
        ``segment_id``: a segment that is now encoded, else empty)."""
        video = self.videos.get(key)
        if video is None:
            return
        video["stage"] = stage
        if segments:
            video["segments_total"] = segments
        if kind == "segment" and ok and segment_id and segment_id not in video["segments_done"]:
            video["segments_done"].append(segment_id)
        self.save(force=False)

    def finish_video(self, outcome: Outcome) -> None:
        """The video's attempt ended: its state, error, output and result."""
        video = self.videos.get(outcome.video)
        if video is None:
            return
        video.update(
            state=outcome.status,
            error=outcome.error.to_dict() if outcome.error else None,
            output=outcome.output_uri,
            finished_at=_now(),
            result=outcome.to_dict(),
        )
        self.save()

    def earlier_outcome(self, key: str) -> Outcome | None:
        """The result an earlier run recorded for the video, if any."""
        result = self.videos[key].get("result")
        return Outcome.from_dict(result) if result else None

    # -- runs ---------------------------------------------------------------------------------

    def begin_run(self, kind: str, keys: list[str], changed: list[str]) -> int:
        """Record a run (process, resume or retry) of ``keys``; returns its number."""
        number = len(self.runs) + 1
        self.runs.append(
            {"run": number, "kind": kind, "started_at": _now(), "videos": keys, "changed_inputs": changed}
        )
        self.state = "running"
        self.save()
        return number

    def end_run(self, state: str) -> None:
        """The current run ended in ``state`` (completed, completed_with_errors, stopped,
        interrupted)."""
        self.state = state
        now = _now()
        if state != "interrupted":
            self.finished_at = now
        if self.runs:
            self.runs[-1]["finished_at"] = now
        self.save()

    def keys_in(self, *states: str) -> list[str]:
        return [k for k, v in self.videos.items() if v["state"] in states]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for video in self.videos.values():
            counts[video["state"]] = counts.get(video["state"], 0) + 1
        return counts

    def is_permanent_failure(self, key: str) -> bool:
        error = self.videos[key].get("error") or {}
        return error.get("stage") in PERMANENT_STAGES


def list_manifests(output_roots: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Summaries of the given (job_id, output) jobs whose manifests can be read."""
    summaries = []
    for job_id, output in output_roots:
        if not valid_name(job_id) or not isinstance(output, str):
            continue  # a hand-made registry entry: it names no job's files
        try:
            data = read_json(Layout(output, job_id).manifest)
        except Exception as exc:
            # One unreachable output (a bucket without credentials here) must not hide the rest.
            if not (is_storage_failure(exc) or isinstance(exc, ValueError)):
                raise
            state = f"unknown (manifest unreadable: {type(exc).__name__})"
            summaries.append({"job_id": job_id, "output": output, "state": state})
            continue
        summaries.append(
            {
                "job_id": job_id,
                "output": output,
                "state": shown_state(output, job_id, str(data.get("state"))),
                "created_at": data.get("created_at"),
                "counts": data.get("counts", {}),
            }
        )
    return summaries
