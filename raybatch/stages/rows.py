"""The rows that flow through the pipeline, one type per kind.

A video row becomes, at ``plan``, segment rows, one audio row and (with analysis) one shots row:
the video's *parts*. Once every part of a video is back, the executor turns them into one
assembly row, which the finish stages (assemble, verify, package, publish) carry to the end.

Every field keeps one meaning for the row's whole life; results of a stage go into fields of
their own, and intermediate files travel as URIs. At the executor boundary a row becomes a dict
of primitives (:meth:`Row.to_row`): structured fields are JSON strings there, so Ray Data never
sees frames, samples or nested objects; :func:`from_row` turns it back.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from raybatch.analysis.decide import Decision, EditFacts
from raybatch.analysis.edl import Range
from raybatch.jobs.records import DONE, ErrorRecord, Outcome, VideoRef
from raybatch.media.probe import MediaInfo

R = TypeVar("R", bound="Row")


@dataclass(frozen=True)
class SoundRef:
    """The sound the audio pass normalises, and what is known about it."""

    uri: str
    #: Describes the file at ``uri`` (the source's probe, or an edited WAV's one stream).
    media: MediaInfo
    #: ffmpeg's loudness measurement of exactly this sound, when analysis made one (the
    #: source's sound fitted to the video's timeline); ``None`` once the sound was changed.
    measured: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "media": self.media.to_dict(), "measured": self.measured}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SoundRef:
        return cls(data["uri"], MediaInfo.from_dict(data["media"]), data.get("measured"))


@dataclass(kw_only=True)
class Row:
    """What every row carries: the video it belongs to, its error, its metrics and logs."""

    kind: ClassVar[str] = ""

    video: VideoRef
    error: ErrorRecord | None = None
    #: The name of the last stage that handled the row (the executor routes on it).
    last_stage: str = ""
    #: One metrics row per stage the row went through (see ``raybatch.io.metrics``).
    metrics: list[dict[str, Any]] = field(default_factory=list)
    #: Log records of the stages that handled it in a worker, re-emitted by the driver.
    logs: list[dict[str, Any]] = field(default_factory=list)

    def to_row(self) -> dict[str, Any]:
        """The row as Ray Data carries it: primitives, and JSON text for structured fields."""
        row: dict[str, Any] = {"kind": self.kind}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            structured = item.name in _STRUCTURED and value is not None
            row[item.name] = json.dumps(_plain(value)) if structured else value
        return row

    def spawn(self, cls: type[R], **values: Any) -> R:
        """A row of another kind made from this one: same video, error and metrics so far (the
        logs stay with this row, so the driver shows them once)."""
        return cls(
            video=self.video, error=self.error, last_stage=self.last_stage, metrics=self.metrics, **values
        )


@dataclass(kw_only=True)
class VideoRow(Row):
    """One input video on its way through probe, analysis, the decision and planning."""

    kind: ClassVar[str] = "video"

    media: MediaInfo | None = None
    #: What the picture analysis found (cuts, statistics, samples).
    picture_analysis: dict[str, Any] | None = None
    #: What the sound analysis found (speech, silences, loudness, profile).
    sound_analysis: dict[str, Any] | None = None
    decision: Decision | None = None


@dataclass(kw_only=True)
class PartRow(Row):
    """A piece of work a video was planned into; ``parts`` says how many there are."""

    media: MediaInfo
    parts: int
    segments: int  # how many of the parts are segments
    edit: EditFacts


@dataclass(kw_only=True)
class SegmentRow(PartRow):
    """Frames ``[0, frame_count)`` of one segment of the edited timeline, enhanced and encoded."""

    kind: ClassVar[str] = "segment"

    index: int
    segment_id: str
    frame_count: int
    #: The source frame ranges (absolute) this segment's frames come from.
    source_ranges: list[Range]
    output_uri: str
    reused: bool = False
    #: The encoder finished it (or found it finished): a segment also leaves ``plan``'s branch,
    #: unencoded, on its way to the encoders.
    encoded: bool = False

    @property
    def source_start(self) -> int:
        return self.source_ranges[0][0]


@dataclass(kw_only=True)
class AudioRow(PartRow):
    """The video's sound: edited (the EDL, voice clean-up), then normalised once."""

    kind: ClassVar[str] = "audio"

    #: Source frame ranges the edit keeps.
    keep: list[Range]
    sound: SoundRef
    output_uri: str
    #: Whether the sound was cut, and which clean-up filters it went through.
    edited: bool = False
    voice_cleanup: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None


@dataclass(kw_only=True)
class ShotsRow(PartRow):
    """The shot model's work for one video: it reads the frames the picture analysis left."""

    kind: ClassVar[str] = "shots"

    result: dict[str, Any] | None = None


@dataclass(kw_only=True)
class AssemblyRow(Row):
    """A video whose parts are all done, on its way through assemble, verify, package, publish."""

    kind: ClassVar[str] = "assembly"

    media: MediaInfo
    edit: EditFacts
    #: The encoded segments, in order.
    segment_uris: list[str]
    audio_uri: str | None = None
    audio: dict[str, Any] | None = None
    shots: dict[str, Any] | None = None
    assembled_uri: str = ""
    verified: dict[str, Any] | None = None
    package: dict[str, Any] | None = None
    published: dict[str, Any] | None = None


ROW_TYPES: dict[str, type[Row]] = {
    cls.kind: cls for cls in (VideoRow, SegmentRow, AudioRow, ShotsRow, AssemblyRow)
}

#: The kinds of the parts a video is planned into.
PART_KINDS = frozenset(kind for kind, cls in ROW_TYPES.items() if issubclass(cls, PartRow))

#: How structured fields are read back; a field name means the same type in every row.
_DECODERS: dict[str, Any] = {
    "video": VideoRef.from_dict,
    "error": ErrorRecord.from_dict,
    "media": MediaInfo.from_dict,
    "decision": Decision.from_dict,
    "edit": EditFacts.from_dict,
    "sound": SoundRef.from_dict,
    "source_ranges": lambda ranges: [tuple(r) for r in ranges],
    "keep": lambda ranges: [tuple(r) for r in ranges],
}


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _decode(name: str, value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars from Arrow
        value = value.item()
    if not isinstance(value, str) or name not in _STRUCTURED:
        return value
    data = json.loads(value)
    decoder = _DECODERS.get(name)
    return decoder(data) if decoder and data is not None else data


_PRIMITIVES = {f"{name}{none}" for name in ("str", "int", "float", "bool") for none in ("", " | None")}
#: Fields carried as JSON text at the executor boundary.
_STRUCTURED = {
    item.name
    for cls in ROW_TYPES.values()
    for item in dataclasses.fields(cls)
    if item.type not in _PRIMITIVES
}


def from_row(row: dict[str, Any]) -> Row:
    """The typed row for a dict that :meth:`Row.to_row` made."""
    cls = ROW_TYPES[row["kind"]]
    names = {item.name for item in dataclasses.fields(cls)}
    return cls(**{name: _decode(name, value) for name, value in row.items() if name in names})


# -- a video's parts and what it came to ------------------------------------------------------


def unique_metrics(rows: list[Row]) -> list[dict[str, Any]]:
    """The metrics of a video's rows, each stage run once: the rows ``plan`` made all carry the
    metrics of the stages before it."""
    seen, unique = set(), []
    for metric in (m for row in rows for m in row.metrics):
        key = (metric["stage"], metric.get("segment_id", ""), metric["start"])
        if key not in seen:
            seen.add(key)
            unique.append(metric)
    return unique


def assembly_from_parts(parts: list[PartRow]) -> AssemblyRow:
    """The row that carries a video whose parts are all done to the finish stages."""
    first = parts[0]
    segments = sorted((p for p in parts if isinstance(p, SegmentRow)), key=lambda p: p.index)
    audio = next((p for p in parts if isinstance(p, AudioRow)), None)
    shots = next((p for p in parts if isinstance(p, ShotsRow)), None)
    return AssemblyRow(
        video=first.video,
        last_stage=first.last_stage,
        metrics=unique_metrics(list(parts)),
        media=first.media,
        edit=first.edit,
        segment_uris=[s.output_uri for s in segments],
        audio_uri=audio.output_uri if audio else None,
        audio=audio.result if audio else None,
        shots=shots.result if shots else None,
    )


def failure_outcome(row: Row, earlier: Sequence[Row] = ()) -> Outcome:
    """The outcome of a video whose ``row`` carries an error (``earlier``: parts already back)."""
    assert row.error is not None
    media = getattr(row, "media", None)
    return Outcome.failed(
        row.video,
        row.error,
        media=media.to_dict() if media else None,
        metrics=unique_metrics([*earlier, row]),
    )


def done_outcome(row: AssemblyRow) -> Outcome:
    """The outcome of a video that was published."""
    verified, published, package = row.verified or {}, row.published or {}, row.package or {}
    return Outcome(
        video=row.video.key,
        source_uri=row.video.source_uri,
        relative_path=row.video.relative_path,
        status=DONE,
        media=row.media.to_dict(),
        input_duration_s=row.media.duration_s,
        input_size_bytes=row.video.size_bytes,
        folder=published.get("folder"),
        output_uri=published.get("output_uri"),
        output_duration_s=verified.get("video_duration_s"),
        output_size_bytes=published.get("output_size_bytes"),
        segments=len(row.segment_uris),
        frames=verified.get("frames"),
        output_size=[verified.get("width"), verified.get("height")],
        audio=row.audio,
        loudness_after=verified.get("loudness"),
        brightness_after=verified.get("brightness"),
        warnings=[*verified.get("warnings", []), *package.get("warnings", [])],
        package={k: v for k, v in package.items() if k not in ("files", "warnings")},
        edit=row.edit.to_dict(),
        metadata=published.get("metadata", []),
        files=published.get("files", {}),
        quality_step=row.video.quality_step,
        quality=verified.get("quality"),
        metrics=list(row.metrics),
    )
