"""Enhancement parameters derived from the picture statistics and the content type."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from raybatch.config.presets import Preset

#: Target exposure: median luma of a well-exposed frame, and the spread that reads as contrast.
TARGET_BRIGHTNESS = 110.0
TARGET_CONTRAST = 52.0
TARGET_SATURATION = 95.0


@dataclass(frozen=True)
class Enhancement:
    """Filter strengths for one video (neutral values change nothing)."""

    brightness: float = 0.0  # eq brightness offset, -1..1 (0 = unchanged)
    contrast: float = 1.0  # eq contrast factor
    saturation: float = 1.0  # eq saturation factor
    gamma: float = 1.0  # eq gamma (lifts shadows of dark footage)
    denoise: float = 0.0  # hqdn3d luma_spatial strength
    sharpen: float = 0.0  # unsharp luma amount
    voice_highpass_hz: int = 0  # educational speech: rumble removal
    voice_denoise: bool = False  # educational speech: gentle broadband noise reduction
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        return data


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def derive_enhancement(stats: dict, content_type: str, preset_strength: float = 1.0) -> Enhancement:
    """Corrections in proportion to what is wrong: a dark, flat recording is lifted and given
    contrast; a well-exposed one is left alone; denoise follows the measured noise; footage
    that is already sharp is not sharpened. ``preset_strength`` scales the whole (the mode)."""
    if not stats:
        return Enhancement(reasons=("no picture statistics: neutral settings",))
    reasons: list[str] = []
    gamma, offset = _exposure(stats["brightness"], reasons)
    contrast, saturation = _contrast_and_colour(stats, reasons)
    denoise, sharpen = _noise_and_detail(stats, preset_strength, reasons)
    voice_hp, voice_dn = voice_cleanup(content_type)
    if voice_hp:
        reasons.append("educational speech: 80 Hz high-pass and gentle noise reduction on the voice")
    if not any(r for r in reasons if "no sharpening" not in r and "educational" not in r):
        reasons.append("well exposed: picture left alone")
    return Enhancement(
        brightness=round(offset, 3),
        contrast=round(contrast, 3),
        saturation=round(saturation, 3),
        gamma=round(gamma, 3),
        denoise=denoise,
        sharpen=sharpen,
        voice_highpass_hz=voice_hp,
        voice_denoise=voice_dn,
        reasons=tuple(reasons),
    )


def voice_cleanup(content_type: str) -> tuple[int, bool]:
    """(high-pass Hz, noise reduction) on the voice: educational speech gets both."""
    return (80, True) if content_type == "educational" else (0, False)


def consistent_enhancement(preset: Preset, content_type: str) -> Enhancement:
    """``--consistent-settings``: the preset's own strengths, whatever the picture looks like,
    so every video of the batch goes through the same filters."""
    voice_hp, voice_dn = voice_cleanup(content_type)
    return Enhancement(
        contrast=preset.contrast,
        saturation=preset.saturation,
        denoise=preset.denoise_luma,
        sharpen=preset.sharpen_amount,
        voice_highpass_hz=voice_hp,
        voice_denoise=voice_dn,
        reasons=("consistent settings: the preset's own filter strengths, the same for every video",),
    )


def _exposure(brightness: float, reasons: list[str]) -> tuple[float, float]:
    """(gamma, brightness offset) for the median luma."""
    if brightness < TARGET_BRIGHTNESS - 25:
        # Gamma lifts shadows and mids without clipping highlights; cap the lift.
        gamma = _clamp((TARGET_BRIGHTNESS / max(brightness, 10.0)) ** 0.5, 1.0, 1.6)
        reasons.append(f"dark picture (median luma {brightness:.0f}): gamma {gamma:.2f}")
        return gamma, 0.0
    if brightness > TARGET_BRIGHTNESS + 60:
        offset = _clamp(-(brightness - TARGET_BRIGHTNESS - 60) / 255.0, -0.12, 0.0)
        reasons.append(f"bright picture (median luma {brightness:.0f}): brightness {offset:+.2f}")
        return 1.0, offset
    return 1.0, 0.0


def _contrast_and_colour(stats: dict, reasons: list[str]) -> tuple[float, float]:
    contrast = 1.0
    if stats["contrast"] < TARGET_CONTRAST * 0.7:
        contrast = _clamp(TARGET_CONTRAST * 0.85 / max(stats["contrast"], 5.0), 1.0, 1.35)
        reasons.append(f"flat picture (luma spread {stats['contrast']:.0f}): contrast {contrast:.2f}")
    saturation = 1.0
    if 8 < stats["saturation"] < TARGET_SATURATION * 0.6:
        saturation = _clamp(TARGET_SATURATION * 0.75 / stats["saturation"], 1.0, 1.3)
        reasons.append(
            f"washed-out colour (saturation {stats['saturation']:.0f}): saturation {saturation:.2f}"
        )
    return contrast, saturation


def _noise_and_detail(stats: dict, strength: float, reasons: list[str]) -> tuple[float, float]:
    """(denoise, sharpen): denoise follows the noise; only soft, clean footage is sharpened."""
    noise = stats["noise"]
    denoise = round(_clamp((noise - 1.0) * 1.2, 0.0, 6.0) * strength, 2)
    if denoise > 0:
        reasons.append(f"noise sigma {noise:.1f}: denoise {denoise:.2f}")
    # Sharpness is the Laplacian variance at analysis size; already-sharp footage scores high,
    # and sharpening noise only amplifies it.
    if stats["sharpness"] >= 150 or noise >= 3.0:
        reasons.append(f"sharp enough (sharpness {stats['sharpness']:.0f}) or noisy: no sharpening")
        return denoise, 0.0
    sharpen = round(_clamp((150 - stats["sharpness"]) / 150, 0.0, 1.0) * 0.6 * strength, 2)
    if sharpen > 0:
        reasons.append(f"soft picture (sharpness {stats['sharpness']:.0f}): sharpen {sharpen:.2f}")
    return denoise, sharpen
