"""The job manifest: everything needed to see, resume or retry a job, stored with its outputs.

``OUT/.raybatch/jobs/<job_id>/manifest.json`` holds the resolved configuration, every input with
its content fingerprint, and per video its state, current stage, attempts, error, output and
finished segments. It is written atomically (temporary name, then rename or upload-and-move), so
a crash leaves the previous complete version. Named checkpoints are copies under
``checkpoints/<name>.json``.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from raybatch.io.storage import exists, is_storage_failure, join, read_json, write_json_atomic

log = logging.getLogger(__name__)

#: A video's states. ``queued`` and ``running`` are unfinished; the rest are final for an attempt.
UNFINISHED = ("queued", "running")
PERMANENT_STAGES = ("discover", "probe")  # the input itself is bad: retrying cannot help


def jobs_root(output_root: str) -> str:
    return join(output_root, ".raybatch", "jobs")


def manifest_uri(output_root: str, job_id: str) -> str:
    return join(jobs_root(output_root), job_id, "manifest.json")


def checkpoint_uri(output_root: str, job_id: str, name: str) -> str:
    return join(jobs_root(output_root), job_id, "checkpoints", f"{name}.json")


def valid_checkpoint_name(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name))


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class JobManifest:
    """A job's state; :meth:`save` writes it atomically (item updates at most every few seconds)."""

    job_id: str
    output: str
    work: str
    input: str
    config: dict[str, Any]
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
    def uri(self) -> str:
        return manifest_uri(self.output, self.job_id)

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
            "config": self.config,
            "runs": self.runs,
            "checkpoints": self.checkpoints,
            "counts": self.counts(),
            "videos": self.videos,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobManifest:
        names = {"job_id", "output", "work", "input", "config", "videos", "state", "created_at"}
        names |= {"updated_at", "finished_at", "runs", "checkpoints"}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def load(cls, output_root: str, job_id: str, checkpoint: str | None = None) -> JobManifest:
        """The job's manifest, or one of its named checkpoints."""
        uri = manifest_uri(output_root, job_id)
        if checkpoint:
            uri = checkpoint_uri(output_root, job_id, checkpoint)
        if not exists(uri):
            what = f"checkpoint {checkpoint!r} of job {job_id}" if checkpoint else f"job {job_id}"
            raise FileNotFoundError(f"no manifest for {what} at {uri}")
        return cls.from_dict(read_json(uri))

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
            raise ValueError(f"checkpoint name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        if name not in self.checkpoints:
            self.checkpoints.append(name)
        self.save()
        uri = checkpoint_uri(self.output, self.job_id, name)
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

    def start_video(self, key: str) -> None:
        video = self.videos[key]
        video.update(state="running", attempts=video["attempts"] + 1, error=None, started_at=_now())

    def note_item(self, key: str, kind: str, item_id: str, stage: str, segment_count: int, ok: bool) -> None:
        """A work item arrived at the driver (its last stage done)."""
        video = self.videos.get(key)
        if video is None:
            return
        video["stage"] = stage
        if segment_count:
            video["segments_total"] = segment_count
        if kind == "segment" and ok and item_id not in video["segments_done"]:
            video["segments_done"].append(item_id)
        self.save(force=False)

    def finish_video(self, key: str, outcome: dict[str, Any]) -> None:
        video = self.videos.get(key)
        if video is None:
            return
        result = {k: v for k, v in outcome.items() if k != "metrics"}
        video.update(
            state=outcome["status"],
            error=outcome.get("error"),
            output=outcome.get("output_uri"),
            finished_at=_now(),
            result=result,
        )
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
        try:
            data = read_json(manifest_uri(output, job_id))
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
                "state": data.get("state"),
                "created_at": data.get("created_at"),
                "counts": data.get("counts", {}),
            }
        )
    return summaries
