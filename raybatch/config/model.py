"""The typed configuration: everything a YAML file or a CLI flag can set.

Sections mirror the published guide's ``batch_config.yaml`` (``batch``, ``processing``,
``output``, ``monitoring``). Unknown keys are errors, so a typo never silently does nothing.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from raybatch.config.presets import Preset, resolve_preset
from raybatch.errors import ConfigError
from raybatch.io.naming import Patterns, check_pattern

#: Audio extensions: also picked up by default so an audio file dropped into a video folder is
#: reported ("no video stream") instead of silently ignored.
DEFAULT_AUDIO_EXTENSIONS: tuple[str, ...] = (".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".opus")
#: File extensions treated as video when no ``--pattern`` is given.
DEFAULT_VIDEO_EXTENSIONS: tuple[str, ...] = (
    ".mp4",
    ".mov",
    ".m4v",
    ".mkv",
    ".webm",
    ".avi",
    ".mts",
    ".m2ts",
    ".ts",
    ".mpg",
    ".mpeg",
    ".wmv",
    ".flv",
    ".3gp",
    ".ogv",
)


_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def parse_size(text: str | int) -> int:
    """Bytes in a size such as ``2GB``, ``500MB`` or ``1048576``."""
    import re

    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?B?)\s*", str(text).upper())
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 500MB or 2GB)")
    unit = match.group(2) if match.group(2) not in ("K", "M", "G", "T") else match.group(2) + "B"
    return int(float(match.group(1)) * _UNITS[unit])


class _Section(BaseModel):
    # No inf or nan anywhere: every number is written into JSON files, which hold neither.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


#: The scheduling strategies (README "Scheduling").
STRATEGIES: tuple[str, ...] = ("sequential", "fixed", "adaptive", "smart")
Strategy = Literal["sequential", "fixed", "adaptive", "smart"]


def default_executor() -> str:
    """``$RAYBATCH_EXECUTOR`` when set (``ray`` or ``local``), else ``ray``."""
    value = os.environ.get("RAYBATCH_EXECUTOR") or "ray"
    if value not in ("ray", "local"):
        raise ConfigError(f"RAYBATCH_EXECUTOR is {value!r}", hint="set it to ray or local, or unset it")
    return value


class BatchSettings(_Section):
    """How the batch is scheduled."""

    processing_mode: Literal["parallel", "sequential"] = "parallel"
    #: Videos in flight at once, and encoders at once (README "Scheduling").
    max_concurrent_jobs: int | None = Field(default=None, ge=1)
    max_memory_gb: float | None = Field(default=None, gt=0)
    resource_management: Literal["adaptive", "fixed"] = "adaptive"
    #: sequential | fixed | adaptive | smart; unset, it follows ``processing_mode``,
    #: ``resource_management`` and ``queue_management`` (the guide's YAML keys): see ``strategy``.
    parallel_strategy: Strategy | None = None
    #: fifo: videos start in the batch's order; smart: the longest first, short ones fill gaps.
    queue_management: Literal["fifo", "smart"] = "fifo"
    #: Spread the encoders over the nodes evenly instead of packing them.
    resource_balancing: bool = False
    #: Under sustained pressure, videos not yet started take the next cheaper quality.
    adaptive_quality: bool = False
    #: Above this much memory in use on a node (GB), no new video starts.
    memory_threshold_gb: float | None = Field(default=None, gt=0)
    #: Above this CPU use on a node (percent), no new video starts.
    cpu_threshold_pct: float | None = Field(default=None, gt=0, le=100)
    #: With ``group_by_type``: within a type, videos of one resolution run together.
    optimize_batches: bool = False
    error_handling: Literal["continue", "stop"] = "continue"
    #: ``ray`` (embedded or joined) unless ``$RAYBATCH_EXECUTOR`` says ``local`` (one process,
    #: no Ray: the quickest start for a few small files).
    executor: Literal["ray", "local"] = Field(default_factory=lambda: default_executor())
    ray_address: str | None = None
    pattern: str | None = None
    recursive: bool = False
    group_by_type: bool = False
    #: Verification warnings (e.g. loudness left off target on purpose) fail the video.
    strict_mode: bool = False
    #: Wall-clock limit per video (seconds); its work is cancelled and it is recorded as timed out.
    video_timeout_s: float | None = Field(default=None, gt=0)

    @property
    def strategy(self) -> Strategy:
        """The scheduling strategy this batch runs with (README "Scheduling")."""
        if self.parallel_strategy:
            return self.parallel_strategy
        if self.processing_mode == "sequential":
            return "sequential"
        if self.resource_management == "fixed":
            return "fixed"
        return "smart" if self.queue_management == "smart" else "adaptive"

    @property
    def smart_queue(self) -> bool:
        """Whether videos start longest first (the smart strategy, or the smart queue asked for
        with another strategy)."""
        return self.strategy == "smart" or self.queue_management == "smart"

    # The schema (`raybatch batch config schema`) offers the guide's spellings too.
    @field_validator(
        "error_handling",
        mode="before",
        json_schema_input_type=Literal["continue", "stop", "continue_on_error", "stop_on_error"],
    )
    @classmethod
    def _accept_guide_spelling(cls, value: Any) -> Any:
        # The guide's YAML says continue_on_error / stop_on_error; the CLI says continue / stop.
        aliases = {"continue_on_error": "continue", "stop_on_error": "stop"}
        return aliases.get(value, value)


class ProcessingSettings(_Section):
    """What is done to each video."""

    content_type: Literal["educational", "music", "general"] = "general"
    quality: Literal["low", "medium", "high", "ultra"] = "high"
    mode: Literal["fast", "balanced", "high_quality"] = "balanced"
    segment_seconds: float = Field(default=60.0, ge=5, le=900)
    min_segment_seconds: float = Field(default=10.0, ge=1, le=300)
    encoder_cpus: float = Field(default=1.0, gt=0, le=64)
    loudness_target_lufs: float | None = Field(default=None, ge=-40, le=-5)
    true_peak_dbtp: float | None = Field(default=None, ge=-9, le=0)
    command_timeout_s: float = Field(default=3600.0, gt=0)
    analysis: bool = True
    auto_detect_type: bool = False
    speech_margin_s: float | None = Field(default=None, ge=0, le=2)
    model_gpus: float = Field(default=0.25, gt=0, le=1)
    #: auto: NVENC on nodes advertising the ``nvenc`` resource when a test encode there works,
    #: else x264 on CPU nodes.
    encoder: Literal["auto", "libx264", "h264_nvenc", "hevc_nvenc"] = "auto"
    #: Every video gets the same preset, resolution cap and filter strengths (none adapted to
    #: its analysis, nor stepped down by ``adaptive_quality``).
    consistent_settings: bool = False

    def preset(self) -> Preset:
        """The preset with any explicit loudness override applied."""
        preset = resolve_preset(self.quality, self.mode, self.content_type)
        overrides: dict[str, Any] = {}
        if self.loudness_target_lufs is not None:
            overrides["loudness_target_lufs"] = self.loudness_target_lufs
        if self.true_peak_dbtp is not None:
            overrides["true_peak_dbtp"] = self.true_peak_dbtp
        return Preset(**{**preset.to_dict(), **overrides}) if overrides else preset


class _Patterns(_Section):
    """A section of output patterns, each checked when the configuration loads."""

    _key: ClassVar[str]

    @field_validator("*")
    @classmethod
    def _check(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_pattern(f"{cls._key}.{info.field_name}", value) if value is not None else None


class OutputPatterns(_Patterns):
    """``output.patterns``: the folders of a custom structure (see ``raybatch.io.naming``)."""

    _key = "patterns"
    video_dir: str | None = None
    thumbnail_dir: str | None = None
    metadata_dir: str | None = None


class OutputFileNames(_Patterns):
    """``output.naming``: the file names of a custom structure."""

    _key = "naming"
    video_file: str | None = None
    thumbnail_file: str | None = None
    metadata_file: str | None = None


class OutputSettings(_Section):
    """Where results go and how they are organised."""

    directory: str = "./batch_output"
    #: ``custom``: the folders and file names follow ``patterns`` and ``naming``.
    structure: Literal["default", "custom"] = "default"
    patterns: OutputPatterns = Field(default_factory=OutputPatterns)
    naming: OutputFileNames = Field(default_factory=OutputFileNames)
    organize_by_type: bool = False
    preserve_directory_structure: bool = False
    create_summary_reports: bool = True
    keep_work_files: bool = False
    scratch_dir: str | None = None
    #: Where the caches live (any fsspec URL; share one between jobs); inside the output by default.
    cache_dir: str | None = None
    #: The bound on all the caches together (the least recently used entries go first).
    cache_size: str = "2GB"
    #: ``conservative``: only the analysis is cached. ``batch_optimized``: also the media work
    #: (probe, audio pass, encoded segments, thumbnail frames), and inputs with the same content
    #: under different names are processed once per batch. ``off``: nothing is cached.
    cache_strategy: Literal["conservative", "batch_optimized", "off"] = "conservative"
    #: Cache the media work too (``--enable-aggressive-caching``), whatever the strategy.
    aggressive_caching: bool = False

    @property
    def media_caches(self) -> bool:
        """Whether probe results, the audio pass, encoded segments and thumbnail frames are cached."""
        return self.cache_strategy == "batch_optimized" or (
            self.aggressive_caching and self.cache_strategy != "off"
        )

    @field_validator("cache_size")
    @classmethod
    def _parse_size(cls, value: str) -> str:
        parse_size(value)
        return value

    @model_validator(mode="after")
    def _caching_agrees(self) -> OutputSettings:
        if self.aggressive_caching and self.cache_strategy == "off":
            raise ValueError(
                "aggressive caching and cache strategy 'off' contradict each other: drop one "
                "(--enable-aggressive-caching or --cache-strategy off)"
            )
        return self

    @model_validator(mode="after")
    def _patterns_need_custom(self) -> OutputSettings:
        given = self.patterns != OutputPatterns() or self.naming != OutputFileNames()
        if given and self.structure != "custom":
            raise ValueError("patterns and naming apply only to a custom structure: add structure: custom")
        return self

    def patterns_in_use(self) -> Patterns:
        """The six patterns the output is written with."""
        return Patterns.from_settings(self.structure, self.patterns, self.naming)


class MonitoringSettings(_Section):
    """What the run reports while and after it works."""

    enable_progress_tracking: bool = True
    resource_monitoring: bool = True
    #: Seconds between two samples of the nodes' CPU and memory.
    resource_interval_s: float = Field(default=1.0, ge=0.1, le=60)
    error_logging: Literal["basic", "detailed"] = "detailed"
    performance_metrics: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"


class ThumbnailTheme(_Section):
    """How thumbnails look: one theme can brand a whole series."""

    font: str | None = None  # a TrueType file; a bold system sans when unset
    font_size: int = Field(default=96, ge=16, le=300)
    min_font_size: int = Field(default=48, ge=12, le=200)
    text_color: str = "#FFFFFF"
    outline_color: str = "#000000"
    band_color: str = "#101820"
    band_opacity: float = Field(default=0.72, ge=0, le=1)
    band_position: Literal["bottom", "top"] = "bottom"
    accent_color: str = "#FFC400"
    text_align: Literal["left", "center"] = "left"
    uppercase: bool = False
    logo: str | None = None  # a PNG (transparency kept)
    logo_position: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = "top-right"
    logo_scale: float = Field(default=0.12, gt=0, le=0.5)

    @field_validator("text_color", "outline_color", "band_color", "accent_color")
    @classmethod
    def _colour(cls, value: str) -> str:
        from PIL import ImageColor

        try:
            ImageColor.getrgb(value)
        except ValueError:
            raise ValueError(f"not a colour: {value!r} (use e.g. '#FFCC00' or 'white')") from None
        return value

    @field_validator("font", "logo")
    @classmethod
    def _file_exists(cls, value: str | None) -> str | None:
        import os

        if value and not os.path.isfile(os.path.expanduser(value)):
            raise ValueError(f"no such file: {value!r}")
        return os.path.expanduser(value) if value else value


class ThumbnailSettings(_Section):
    """Which thumbnails each video gets."""

    enabled: bool = True
    strategies: list[Literal["clean", "title", "closeup"]] = Field(
        default_factory=lambda: ["clean", "title", "closeup"], min_length=1
    )
    candidates: int = Field(default=6, ge=1, le=24)
    theme: ThumbnailTheme = Field(default_factory=ThumbnailTheme)


class LlmSettings(_Section):
    """An OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp's server...).

    The key is only ever read from the environment variable named here, never from a file."""

    base_url: str | None = None  # else $OPENAI_BASE_URL, else OpenAI's
    model: str = "gpt-4o-mini"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=10)
    backoff_s: float = Field(default=1.0, ge=0)
    max_output_tokens: int = Field(default=900, ge=64, le=16384)
    temperature: float = Field(default=0.3, ge=0, le=2)
    #: Where responses are cached (any fsspec URL); the user's cache folder by default.
    cache_dir: str | None = None
    #: USD per million tokens, by model; a model missing here is priced at ``default_price``.
    prices: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "gpt-4o-mini": {"input": 0.15, "output": 0.60},
            "gpt-4o": {"input": 2.50, "output": 10.00},
            "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
            "gpt-4.1": {"input": 2.00, "output": 8.00},
        }
    )
    default_price: dict[str, float] = Field(default_factory=lambda: {"input": 0.0, "output": 0.0})
    #: ``--batch-api-calls``: the batch's metadata requests go together, as one Batch API job
    #: (``/v1/files`` + ``/v1/batches``: cheaper, but it can take hours) where the server has
    #: it, else as combined chat calls of several videos each.
    batch_api_calls: bool = False
    #: The longest the run waits for a Batch API job; past it the job is cancelled and the
    #: videos keep the offline metadata they were given meanwhile.
    batch_wait_s: float = Field(default=3600.0, gt=0)
    batch_poll_s: float = Field(default=10.0, gt=0)
    #: The Batch API's price as a fraction of the normal one (OpenAI's: half).
    batch_price_factor: float = Field(default=0.5, ge=0, le=1)
    #: The model's context, in tokens: bounds how many videos one combined call carries.
    context_tokens: int = Field(default=16000, ge=2000)
    #: ``--optimize-requests``: send only what the writer needs (each transcript excerpt once,
    #: trimmed; compact facts), ask only for what the config leaves open, cap the answer's tokens.
    optimize_requests: bool = False
    #: ``--cache-similar-content``: a request close enough to an earlier one (cosine similarity of
    #: their sentence embeddings at least ``similarity_threshold``) reuses its answer.
    cache_similar_content: bool = False
    similarity_threshold: float = Field(default=0.9, gt=0, le=1)


class TranscriptSettings(_Section):
    """An OpenAI-compatible ``audio.transcriptions`` endpoint for captions and chapters."""

    enabled: bool = False
    base_url: str | None = None  # else the LLM's
    model: str = "whisper-1"
    price_per_minute: float = Field(default=0.006, ge=0)


class MetadataSettings(_Section):
    """Publish-ready text for each video."""

    #: auto: the LLM when a key is configured, the offline writer otherwise.
    writer: Literal["auto", "llm", "offline"] = "auto"
    language: str = "en"
    keywords: list[str] = Field(default_factory=list)
    # Series metadata (with series coordination on): the guide's series_config.yaml keys.
    #: Keywords of the whole series, merged with the episodes' most frequent ones.
    series_keywords: list[str] = Field(default_factory=list)
    #: Episode numbers in the output file names too (titles and metadata always carry them).
    progressive_numbering: bool = False
    #: series_coordination/cross_references.json: each episode's most related others.
    cross_references: bool = True
    #: A playlist title and description for the series in series_metadata.json.
    playlist_optimization: bool = True
    #: Hard cap on API spending for the whole batch (USD); past it, the offline writer.
    budget_usd: float | None = Field(default=None, ge=0)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    transcript: TranscriptSettings = Field(default_factory=TranscriptSettings)


class SeriesBranding(_Section):
    """One look for every episode of a series."""

    #: Every episode's title thumbnail in the series palette, font and layout.
    consistent_thumbnails: bool = True
    #: One palette for the series: ``palette`` when given, else derived from the episodes.
    unified_color_scheme: bool = True
    palette: list[str] | None = None
    #: An image (path or fsspec URL) on every title thumbnail, checked before any work starts.
    series_logo: str | None = None

    @field_validator("palette")
    @classmethod
    def _colours(cls, value: list[str] | None) -> list[str] | None:
        for colour in value or []:
            ThumbnailTheme._colour(colour)
        return value


class SeriesSettings(_Section):
    """The series the batch's videos make (the guide's series_config.yaml). A section that names
    the series, its type or its episodes, or sets its branding, turns series coordination on."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    #: The episodes' content type (``processing.content_type`` unless that is set too).
    type: Literal["educational", "music", "general"] | None = None
    #: The episode order, first to last, as file names or paths relative to the input; the
    #: videos it leaves out follow in natural order. Unset: the order of the names' episode marks.
    episodes: list[str] | None = None
    branding: SeriesBranding = Field(default_factory=SeriesBranding)


class CoordinationSettings(_Section):
    """Series coordination: the guide's batch_config.yaml and series_config.yaml keys."""

    enable_series_coordination: bool = False
    #: The series branding (``series.branding``) on every episode.
    consistent_branding: bool = True
    #: One metadata strategy: series name and numbers in every title, shared series keywords.
    unified_metadata_strategy: bool = True
    #: One loudness target, preset and resolution for every episode; enhancement pulled toward
    #: the series median.
    cross_video_optimization: bool = True
    #: Flag concepts an episode uses before the series introduces them.
    concept_continuity: bool = True
    #: Estimate how difficulty progresses over the episodes (speech rate, vocabulary, length).
    difficulty_progression: bool = True
    #: Link each episode to the earlier ones where its concepts first appeared.
    prerequisite_tracking: bool = True


#: Keys that only mean something in a series, by section.
SERIES_ONLY_KEYS = {
    "coordination": (
        "consistent_branding",
        "unified_metadata_strategy",
        "cross_video_optimization",
        "concept_continuity",
        "difficulty_progression",
        "prerequisite_tracking",
    ),
    "metadata": ("series_keywords", "progressive_numbering", "cross_references", "playlist_optimization"),
}


def _default(section: BaseModel, key: str) -> Any:
    return type(section).model_fields[key].get_default(call_default_factory=True)


class StorageSettings(_Section):
    """How inputs and outputs are reached (any fsspec URL: s3://, gs://, abfs://, memory://).

    ``options`` are fsspec storage options per protocol, e.g. ``{"s3": {"endpoint_url":
    "http://minio:9000"}}``; they reach every worker. Credentials are best left to the standard
    environment (AWS_* variables, profiles, instance roles); any given here are redacted from
    reports and manifests."""

    options: dict[str, dict[str, Any]] = Field(default_factory=dict)


class RaybatchConfig(_Section):
    """The whole configuration of one batch run."""

    input: str | None = None
    batch: BatchSettings = Field(default_factory=BatchSettings)
    processing: ProcessingSettings = Field(default_factory=ProcessingSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    thumbnails: ThumbnailSettings = Field(default_factory=ThumbnailSettings)
    metadata: MetadataSettings = Field(default_factory=MetadataSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    series: SeriesSettings = Field(default_factory=SeriesSettings)
    coordination: CoordinationSettings = Field(default_factory=CoordinationSettings)

    @model_validator(mode="after")
    def _series_type_is_the_content_type(self) -> RaybatchConfig:
        explicit_type = "content_type" in self.processing.model_fields_set
        if self.series_coordinated and self.series.type and not explicit_type:
            self.processing.content_type = self.series.type
        return self

    def unused_series_keys(self) -> list[str]:
        """Series keys this configuration changes from their defaults while series coordination
        is off (they do nothing then: the run says so). Compared with the defaults, not with
        what a file named: a job's stored configuration names every key."""
        if self.series_coordinated:
            return []
        return [
            f"{section}.{key}"
            for section, keys in SERIES_ONLY_KEYS.items()
            for key in keys
            if getattr(getattr(self, section), key) != _default(getattr(self, section), key)
        ]

    @property
    def series_branding(self) -> bool:
        """Whether a coordinated series' title thumbnails are rendered in the series branding."""
        return self.coordination.consistent_branding and self.series.branding.consistent_thumbnails

    @property
    def series_coordinated(self) -> bool:
        """Whether the batch is processed as one series: coordination turned on, or a ``series:``
        section that names the series, its type or its episodes, or sets its branding."""
        series = self.series
        named = series.name or series.type or series.episodes or series.branding != SeriesBranding()
        return self.coordination.enable_series_coordination or bool(named)

    def preset(self) -> Preset:
        return self.processing.preset()

    def public_dump(self) -> dict[str, Any]:
        """The configuration as JSON-ready data with every secret redacted (for reports and
        manifests, which anyone reading the output may see)."""
        from raybatch.io.storage import redact_options

        data = self.model_dump(mode="json")
        data["storage"]["options"] = redact_options(data["storage"]["options"])
        return data
