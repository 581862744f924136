"""The preset table: quality x mode x content type -> concrete encoder and filter settings.

Quality sets the picture budget (resolution cap, CRF, audio bitrate); mode sets how much CPU the
encoder and filters may spend; content type sets loudness and how the picture is treated (screen
text wants crisper edges, music wants the picture left mostly alone).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

Quality = Literal["low", "medium", "high", "ultra"]
Mode = Literal["fast", "balanced", "high_quality"]
ContentType = Literal["educational", "music", "general"]

QUALITIES: tuple[str, ...] = ("low", "medium", "high", "ultra")
MODES: tuple[str, ...] = ("fast", "balanced", "high_quality")
CONTENT_TYPES: tuple[str, ...] = ("educational", "music", "general")

#: short side cap (pixels), x264 CRF, AAC bitrate (kbit/s)
_QUALITY_TABLE: dict[str, tuple[int, int, int]] = {
    "low": (720, 26, 96),
    "medium": (1080, 23, 128),
    "high": (1080, 20, 160),
    "ultra": (2160, 18, 192),
}
#: x264 preset, multiplier on filter strengths
_MODE_TABLE: dict[str, tuple[str, float]] = {
    "fast": ("veryfast", 0.6),
    "balanced": ("medium", 1.0),
    "high_quality": ("slow", 1.2),
}
#: loudness target (LUFS), denoise, contrast, saturation, sharpen amount
_TYPE_TABLE: dict[str, tuple[float, float, float, float, float]] = {
    "educational": (-16.0, 1.5, 1.04, 1.03, 0.6),
    "music": (-14.0, 1.0, 1.02, 1.04, 0.25),
    "general": (-14.0, 1.2, 1.03, 1.05, 0.4),
}
#: Streaming platforms' ceiling; leaves room for inter-sample peaks added by lossy coding.
TRUE_PEAK_DBTP = -1.5
LOUDNESS_RANGE_LU = 11.0


@dataclass(frozen=True)
class Preset:
    """Every number the enhance, encode and audio stages need."""

    quality: str
    mode: str
    content_type: str
    max_short_side: int
    encoder: str
    x264_preset: str
    crf: int
    denoise_luma: float  # hqdn3d luma spatial strength; 0 disables
    contrast: float  # eq contrast (1 = unchanged)
    saturation: float  # eq saturation (1 = unchanged)
    sharpen_amount: float  # unsharp luma amount; 0 disables
    audio_codec: str
    audio_bitrate_kbps: int
    audio_sample_rate: int
    loudness_target_lufs: float
    true_peak_dbtp: float
    loudness_range_lu: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_preset(quality: str, mode: str, content_type: str) -> Preset:
    """Look up the preset for one combination; unknown names raise ``ValueError`` naming the choices."""
    for value, allowed, what in (
        (quality, QUALITIES, "quality"),
        (mode, MODES, "mode"),
        (content_type, CONTENT_TYPES, "content type"),
    ):
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")
    short_side, crf, audio_kbps = _QUALITY_TABLE[quality]
    x264_preset, strength = _MODE_TABLE[mode]
    loudness, denoise, contrast, saturation, sharpen = _TYPE_TABLE[content_type]
    return Preset(
        quality=quality,
        mode=mode,
        content_type=content_type,
        max_short_side=short_side,
        encoder="libx264",
        x264_preset=x264_preset,
        crf=crf,
        denoise_luma=round(denoise * strength, 3),
        contrast=round(1 + (contrast - 1) * strength, 4),
        saturation=round(1 + (saturation - 1) * strength, 4),
        sharpen_amount=round(sharpen * strength, 3),
        audio_codec="aac",
        audio_bitrate_kbps=audio_kbps,
        audio_sample_rate=48000,
        loudness_target_lufs=loudness,
        true_peak_dbtp=TRUE_PEAK_DBTP,
        loudness_range_lu=LOUDNESS_RANGE_LU,
    )


def cheaper(preset: Preset, steps: int) -> Preset:
    """``preset`` at a quality ``steps`` lower (never below ``low``): a smaller resolution cap,
    a higher CRF, a lower audio bitrate; its encoder, mode, filters and loudness stay."""
    index = max(0, QUALITIES.index(preset.quality) - max(0, steps))
    if QUALITIES[index] == preset.quality:
        return preset
    lower = resolve_preset(QUALITIES[index], preset.mode, preset.content_type)
    return replace(
        preset,
        quality=lower.quality,
        max_short_side=lower.max_short_side,
        crf=lower.crf,
        audio_bitrate_kbps=lower.audio_bitrate_kbps,
    )


def quality_steps_below(quality: str) -> int:
    """How many cheaper qualities there are below ``quality``."""
    return QUALITIES.index(quality)


def preset_table() -> list[Preset]:
    """Every preset, for documentation and tests."""
    return [resolve_preset(q, m, t) for q in QUALITIES for m in MODES for t in CONTENT_TYPES]


def content_type_rank(content_type: str | None) -> int:
    """Where a content type goes in a batch grouped by type (educational, music, general;
    unknown last)."""
    return CONTENT_TYPES.index(content_type) if content_type in CONTENT_TYPES else len(CONTENT_TYPES)
