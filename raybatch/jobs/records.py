"""What a job records about each video: which input it is, what went wrong, what it came to.

These small types are shared by the stages (which carry them on their rows), the job's manifest,
its reports and the CLI; each has one meaning everywhere and an explicit dict form for JSON.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any

#: A video's final states for one attempt.
DONE, FAILED, TIMED_OUT, CANCELLED = "done", "failed", "timed_out", "cancelled"


@dataclass(frozen=True)
class VideoRef:
    """One input video of a job: carried by every row made from it."""

    key: str  # its output folder name, unique in the job
    source_uri: str
    relative_path: str
    size_bytes: int = 0
    #: The input's content fingerprint when the job recorded it ("" when it was unreadable).
    fingerprint: str = ""
    #: Epoch seconds by which the video must be done (0: no limit; set by its first stage).
    deadline: float = 0.0
    #: Quality steps below the configured one this video runs at (``--adaptive-quality`` under
    #: pressure when it started; 0 otherwise). One per video: its stream is one encode.
    quality_step: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoRef:
        return cls(**data)


@dataclass(frozen=True)
class ErrorRecord:
    """Why a video failed: the file, the stage, the message and what to do about it."""

    file: str
    stage: str
    message: str
    hint: str = ""
    #: "timeout" when the video ran out of its --timeout; empty otherwise.
    kind: str = ""
    # With monitoring.error_logging: detailed (--log-errors detailed): the last lines ffmpeg
    # printed, its command line (secrets redacted) and what the stage was working on.
    detail: str = ""
    command: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {"file": self.file, "stage": self.stage, "message": self.message, "hint": self.hint}
        data.update({k: v for k in ("kind", "detail", "command", "inputs") if (v := getattr(self, k))})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Outcome:
    """What one video came to in one run: its entry in the report, the manifest and the CLI."""

    video: str
    source_uri: str
    relative_path: str
    status: str  # done | failed | timed_out | cancelled
    attempt: int = 1
    error: ErrorRecord | None = None
    #: The probe's description of the input (``MediaInfo.to_dict()``), when it was probed.
    media: dict[str, Any] | None = None
    input_duration_s: float | None = None
    input_size_bytes: int | None = None
    folder: str | None = None
    output_uri: str | None = None
    output_duration_s: float | None = None
    output_size_bytes: int | None = None
    segments: int | None = None
    frames: int | None = None
    output_size: list[int | None] | None = None
    #: The audio pass's result: loudness before and after, gain, limiter, note.
    audio: dict[str, Any] | None = None
    loudness_after: dict[str, float] | None = None
    #: How bright the output looks (median over its keyframes of their mean luma, 0-255).
    brightness_after: float | None = None
    warnings: list[str] = field(default_factory=list)
    #: What packaging made: title, chapters, thumbnails, writer, API usage.
    package: dict[str, Any] | None = None
    #: The decisions made for the video: content type, kept duration, enhancement.
    edit: dict[str, Any] | None = None
    #: The published metadata files.
    metadata: list[str] = field(default_factory=list)
    #: Where each of its files was published, under the output root, by the name its stage
    #: wrote it under (``metadata/metadata.json``...; see ``raybatch.io.naming``).
    files: dict[str, str] = field(default_factory=dict)
    #: Qualities below the configured one it was encoded at (``--adaptive-quality``).
    quality_step: int = 0
    #: Its SSIM and PSNR against the source on sampled frames (``raybatch.media.quality``).
    quality: dict[str, Any] | None = None
    #: One stage-metrics row per (stage, segment); not kept in the manifest.
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status == DONE

    def published(self, name: str) -> str | None:
        """Where its file ``name`` was published, under the output root (a result recorded
        before files were listed: under its folder, as the default structure put it)."""
        if name in self.files:
            return self.files[name]
        return f"{self.folder}/{name}" if self.folder else None

    @property
    def content_type(self) -> str | None:
        """The type the video was processed as (decided, or configured)."""
        return (self.edit or {}).get("content_type")

    def to_dict(self, *, with_metrics: bool = False) -> dict[str, Any]:
        data = asdict(self)
        data["error"] = self.error.to_dict() if self.error else None
        if not with_metrics:
            data.pop("metrics")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if values.get("error"):
            values["error"] = ErrorRecord.from_dict(values["error"])
        return cls(**values)

    @classmethod
    def failed(
        cls,
        video: VideoRef,
        error: ErrorRecord,
        *,
        media: dict[str, Any] | None = None,
        metrics: list[dict[str, Any]] | None = None,
    ) -> Outcome:
        """The outcome of a video that failed (or ran out of time) at some stage."""
        return cls(
            video=video.key,
            source_uri=video.source_uri,
            relative_path=video.relative_path,
            status=TIMED_OUT if error.kind == "timeout" else FAILED,
            error=error,
            media=media,
            input_duration_s=media["duration_s"] if media else None,
            input_size_bytes=video.size_bytes,
            metrics=list(metrics or []),
        )
