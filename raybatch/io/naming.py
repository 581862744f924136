"""Where each published file of a video goes: the output patterns, rendered and made safe.

Every structure is a set of six patterns (``output.patterns`` for the folders,
``output.naming`` for the files); the default structure is the one written below, a custom one
replaces any of them. Patterns hold placeholders (``{series_name}``, ``{episode:02d}``...);
every value put into a name is made a safe path component (``io.names.safe_name``), and the
rendered names of a job's videos are made distinct before any is written: two videos whose
names would meet get a deterministic ``-2``, ``-3`` suffix, with a warning.

Titles are known only once a video is packaged, so names are told apart when the run starts
with the title left out (a pattern the title alone makes distinct is still suffixed then).
"""

from __future__ import annotations

import posixpath
import string
from dataclasses import dataclass, field, replace
from typing import Any

from raybatch.io.layout import ANALYSIS_FILES
from raybatch.io.names import MAX_STEM_BYTES, safe_name

#: Every placeholder a pattern may hold, and what it stands for.
PLACEHOLDERS: dict[str, str] = {
    "series_name": "the series' name (the input folder's when no series is coordinated)",
    "episode": "the episode number, for a format such as {episode:02d}",
    "episode_number": "the episode number, zero-padded to the series' widest",
    "video_name": "the video's output name (its file name without the extension)",
    "title": "the video's title from its metadata",
    "content_type": "the detected or configured content type",
    "strategy": "the thumbnail's strategy (thumbnail_file only)",
}

#: The published files a video has, by the names the stages write them under.
VIDEO = "video"
METADATA = "metadata/metadata.json"
THUMBNAIL_INDEX = "thumbnails/thumbnails.json"

#: The picture a series' title thumbnail is set on, left for the series step (which renders
#: ``title.jpg`` once the series palette is known).
TITLE_FRAME = "title_frame.jpg"
#: Every file a video may publish besides the video, by the name its stage writes it under.
PUBLISHED_FILES: tuple[str, ...] = (
    METADATA,
    *(f"metadata/{name}" for name in (*ANALYSIS_FILES, "captions.srt", "captions.vtt")),
    THUMBNAIL_INDEX,
    *(f"thumbnails/{name}" for name in ("clean.jpg", "title.jpg", "closeup.jpg", TITLE_FRAME)),
)

#: Top-level names of the output that belong to raybatch or the whole batch.
_TAKEN_TOP = {"summary", ".raybatch", "series_coordination"}


@dataclass(frozen=True)
class Patterns:
    """The six patterns of an output structure; the defaults are the default structure."""

    video_dir: str = "{video_name}/video"
    thumbnail_dir: str = "{video_name}/thumbnails"
    metadata_dir: str = "{video_name}/metadata"
    video_file: str = "enhanced_{video_name}.mp4"
    thumbnail_file: str = "{strategy}.jpg"
    metadata_file: str = "metadata.json"

    @classmethod
    def from_settings(cls, structure: str, patterns: Any, naming: Any) -> Patterns:
        """The patterns of ``output.structure`` with the ``patterns`` and ``naming`` sections."""
        if structure != "custom":
            return cls()
        given = {**patterns.model_dump(), **naming.model_dump()}
        return cls(**{k: v for k, v in given.items() if v is not None})

    @property
    def default_metadata_names(self) -> bool:
        return self.metadata_file == Patterns.metadata_file

    @property
    def default_thumbnail_names(self) -> bool:
        return self.thumbnail_file == Patterns.thumbnail_file


def check_pattern(key: str, pattern: str) -> str:
    """``pattern`` when it is usable as ``output.<key>``; else ``ValueError`` naming the
    problem and the fix (an unknown placeholder, a bad format, an absolute or escaping path)."""
    fields = _fields(key, pattern)
    for name, spec in fields:
        if name not in PLACEHOLDERS or (name == "strategy" and not key.endswith("thumbnail_file")):
            allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS if p != "strategy" or "thumb" in key)
            raise ValueError(f"{key}: unknown placeholder {{{name}}} in {pattern!r}; use {allowed}")
        if spec:
            try:
                format(7 if name == "episode" else "x", spec)
            except ValueError as exc:
                raise ValueError(f"{key}: bad format {{{name}:{spec}}} in {pattern!r}: {exc}") from None
    if pattern.startswith("/") or ".." in pattern.split("/"):
        raise ValueError(f"{key}: {pattern!r} must stay inside the output folder (no leading / or ..)")
    if key.endswith("_file") and "/" in pattern:
        raise ValueError(f"{key}: {pattern!r} is a file name; put folders in output.patterns")
    if key.endswith("thumbnail_file") and "strategy" not in {n for n, _ in fields}:
        raise ValueError(f"{key}: {pattern!r} needs {{strategy}}, or every thumbnail gets the same name")
    return pattern


def _fields(key: str, pattern: str) -> list[tuple[str, str]]:
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise ValueError(f"{key}: cannot read {pattern!r} ({exc}); write a brace as {{{{ or }}}}") from None
    return [(name, spec or "") for _, name, spec, _ in parsed if name is not None]


def render_path(pattern: str, values: dict[str, Any], limit: int = MAX_STEM_BYTES) -> str:
    """``pattern`` with ``values`` put in, each folder and file name a safe component of at
    most ``limit`` bytes."""
    text = pattern.format(**{k: _value(v) for k, v in values.items()})
    parts = [safe_name(part, limit=limit) for part in text.split("/") if part.strip()]
    if parts and parts[0].casefold() in _TAKEN_TOP:
        parts[0] = "_" + parts[0]
    return "/".join(parts) or "_"


def _value(value: Any) -> Any:
    # A value is one name: a slash in a title must not make a folder.
    return value.replace("/", "_").replace("\\", "_") if isinstance(value, str) else value


def with_suffix(name: str, suffix: str) -> str:
    """``name`` with ``suffix`` before its extension, the stem cut to fit."""
    stem, ext = posixpath.splitext(name)
    room = MAX_STEM_BYTES - len(suffix.encode())
    return safe_name(stem, limit=room) + suffix + ext


@dataclass(frozen=True)
class VideoFiles:
    """One video's published files: the path under the output root of each file, by the name
    its stage writes it under (``video``, ``metadata/metadata.json``, ``thumbnails/clean.jpg``)."""

    paths: dict[str, str]

    @property
    def folder(self) -> str:
        """The deepest folder that holds all of the video's files (``<name>`` in the default
        structure; with custom patterns it may hold other videos' files too)."""
        return posixpath.commonpath([posixpath.dirname(p) for p in self.paths.values()])


@dataclass(frozen=True)
class VideoNames:
    """What a video's names are made of, fixed when the run starts."""

    video_name: str
    prefix: str = ""  # its source folders with preserve_directory_structure
    series_name: str = ""
    episode: int = 0
    width: int = 2
    suffix: str = ""

    def values(self, title: str, content_type: str | None) -> dict[str, Any]:
        return {
            "series_name": self.series_name,
            "episode": self.episode,
            "episode_number": f"{self.episode:0{self.width}d}",
            "video_name": self.video_name,
            "title": title,
            "content_type": content_type or "general",
        }


@dataclass(frozen=True)
class OutputNames:
    """Every video's names for one run, and the warnings about names that had to change."""

    patterns: Patterns = field(default_factory=Patterns)
    videos: dict[str, VideoNames] = field(default_factory=dict)
    #: The files a video may publish, by the names the stages write them under.
    published: tuple[str, ...] = PUBLISHED_FILES
    organize_by_type: bool = False
    warnings: tuple[str, ...] = ()

    def files(self, key: str, title: str = "", content_type: str | None = None) -> VideoFiles:
        """The published files of the video ``key`` (``title`` and ``content_type`` as
        packaging and analysis found them)."""
        prefix, _, name = key.rpartition("/")
        names = self.videos.get(key) or VideoNames(name, prefix)
        top = content_type if self.organize_by_type and content_type else ""
        return video_files(self.patterns, names, names.values(title, content_type), top, self.published)


def plan_names(
    patterns: Patterns,
    keys: list[str],
    *,
    series_name: str,
    episodes: dict[str, int],
    numbered: bool,
    organize_by_type: bool = False,
    published: tuple[str, ...] = PUBLISHED_FILES,
) -> OutputNames:
    """Every video's names for a run of ``keys`` (in order), made distinct: a video whose files
    would land where an earlier one's do gets the first free ``-N`` suffix, and a warning.
    ``episodes`` numbers the videos; ``numbered`` (progressive numbering) puts ``E03_`` before
    the name in the default structure."""
    width = max(2, len(str(max(episodes.values(), default=1))))
    taken: dict[str, str] = {}
    videos, warnings = {}, []
    for key in keys:
        prefix, _, name = key.rpartition("/")
        episode = episodes.get(key, 0)
        if numbered and episode and patterns == Patterns():
            name = f"E{episode:0{width}d}_{name}"
        names = VideoNames(name, prefix, series_name, episode, width)
        clash = _clash(patterns, names, published, taken)
        if clash:
            names = _distinct(patterns, names, published, taken)
            warnings.append(
                f"output names: {key} would write {clash} like {taken[clash.casefold()]}; its files "
                f"get the suffix {names.suffix} (put {{video_name}} or {{episode}} in the pattern)"
            )
        for path in _paths(patterns, names, published):
            taken[path.casefold()] = key
        videos[key] = names
    return OutputNames(patterns, videos, published, organize_by_type, tuple(warnings))


def _paths(patterns: Patterns, names: VideoNames, published: tuple[str, ...]) -> list[str]:
    # Told apart before titles and types are known: with neither in the names.
    return list(video_files(patterns, names, names.values("", None), "", published).paths.values())


def _clash(patterns: Patterns, names: VideoNames, published: tuple[str, ...], taken: dict[str, str]) -> str:
    return next((p for p in _paths(patterns, names, published) if p.casefold() in taken), "")


def _distinct(
    patterns: Patterns, names: VideoNames, published: tuple[str, ...], taken: dict[str, str]
) -> VideoNames:
    number = 2
    while True:
        candidate = replace(names, suffix=f"-{number}")
        if not _clash(patterns, candidate, published, taken):
            return candidate
        number += 1


def video_files(
    patterns: Patterns, names: VideoNames, values: dict[str, Any], top: str, published: tuple[str, ...]
) -> VideoFiles:
    """The paths of a video's ``published`` files under the patterns; ``top`` goes above all."""
    base = "/".join(part for part in (top, names.prefix) if part)

    def folder(pattern: str) -> str:
        return "/".join(p for p in (base, render_path(pattern, values)) if p)

    def file(pattern: str, **extra: Any) -> str:
        # Bounded once, by its stem, so the extension stays.
        return with_suffix(render_path(pattern, {**values, **extra}, limit=1 << 16), names.suffix)

    metadata_dir, thumbnail_dir = folder(patterns.metadata_dir), folder(patterns.thumbnail_dir)
    metadata = file(patterns.metadata_file)
    paths = {VIDEO: f"{folder(patterns.video_dir)}/{file(patterns.video_file)}"}
    for name in published:
        kind, leaf = name.split("/", 1)
        if name == METADATA:
            own = metadata
        elif kind == "metadata":
            # Beside a named metadata file, its companions share its name (a shared folder
            # then still holds every video's).
            custom = not patterns.default_metadata_names
            own = f"{_stem(metadata)}.{leaf}" if custom else with_suffix(leaf, names.suffix)
        elif name == THUMBNAIL_INDEX and not patterns.default_thumbnail_names:
            own = f"{_stem(file(patterns.thumbnail_file, strategy='index'))}.json"
        elif name == THUMBNAIL_INDEX:
            own = with_suffix(leaf, names.suffix)
        else:
            own = file(patterns.thumbnail_file, strategy=_stem(leaf))
        paths[name] = f"{metadata_dir if kind == 'metadata' else thumbnail_dir}/{own}"
    return VideoFiles(paths)


def _stem(name: str) -> str:
    return posixpath.splitext(name)[0]
