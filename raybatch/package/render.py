"""Thumbnail rendering with Pillow: crop, scale, title band and text, logo, JPEG under a size cap."""

from __future__ import annotations

import io
import os
from functools import lru_cache

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

from raybatch.config.model import ThumbnailTheme
from raybatch.package.thumbnails import Box, aspect_box

SIZE = (1280, 720)
MAX_JPEG_BYTES = 2 * 1024 * 1024
#: Bold sans faces looked for when the theme names none (Debian's fonts-dejavu-core first).
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/Library/Fonts/Arial Bold.ttf",
    "C:/Windows/Fonts/arialbd.ttf",
)


@lru_cache(maxsize=32)
def load_font(path: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The theme's font at ``size``; a bold system sans when none is set; Pillow's own
    scalable font when none is installed."""
    for candidate in ([path] if path else []) + list(FONT_CANDIDATES):
        if candidate and os.path.exists(candidate):
            return ImageFont.truetype(candidate, size)
    if path:
        raise FileNotFoundError(f"the thumbnail theme's font {path!r} does not exist")
    return ImageFont.load_default(size=size)


def crop_to(image: Image.Image, box: Box) -> Image.Image:
    """``box`` of ``image`` scaled to the thumbnail size."""
    return image.crop(box).resize(SIZE, Image.Resampling.LANCZOS)


#: Pictures narrower than this (portrait, square) are shown whole over a blurred copy of
#: themselves: a 16:9 crop would keep only a thin band of them.
MIN_CROP_ASPECT = 1.2


def clean(image: Image.Image, centre: tuple[float, float] | None = None) -> Image.Image:
    """The whole picture, cropped to 16:9 (around ``centre`` when given) and scaled; a
    portrait or square picture is fitted whole over a blurred, darkened fill of itself."""
    if image.width / image.height >= MIN_CROP_ASPECT:
        return crop_to(image, aspect_box(image.width, image.height, SIZE[0] / SIZE[1], centre))
    from PIL import ImageEnhance, ImageFilter

    fill = crop_to(image, aspect_box(image.width, image.height, SIZE[0] / SIZE[1]))
    fill = ImageEnhance.Brightness(fill.filter(ImageFilter.GaussianBlur(SIZE[0] // 40))).enhance(0.55)
    height = SIZE[1]
    width = round(image.width * height / image.height)
    fitted = image.resize((width, height), Image.Resampling.LANCZOS)
    fill.paste(fitted, ((SIZE[0] - width) // 2, 0))
    return fill


def _wrap(text: str, font, max_width: int, draw: ImageDraw.ImageDraw) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= max_width:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines


def ellipsize(text: str, font, max_width: int, draw: ImageDraw.ImageDraw) -> str:
    """``text`` cut at a word (or, for one long word, a character) with an ellipsis so that it
    fits ``max_width``; unchanged when it already fits."""
    if draw.textlength(text, font=font) <= max_width:
        return text
    words = text.split()
    while len(words) > 1 and draw.textlength(" ".join(words) + "…", font=font) > max_width:
        words.pop()
    cut = " ".join(words).rstrip(" –-,:;")
    while cut and draw.textlength(cut + "…", font=font) > max_width:
        cut = cut[:-1]
    return cut + "…"


def fit_text(
    text: str, theme: ThumbnailTheme, max_width: int, max_lines: int = 2
) -> tuple[object, list[str]]:
    """The largest font size (down to a legible floor) at which ``text`` fits ``max_width`` in
    at most ``max_lines`` lines; the lines at that size. Text too long even at the floor ends
    in an ellipsis rather than losing words silently."""
    draw = ImageDraw.Draw(Image.new("RGB", (8, 8)))
    size = theme.font_size
    while True:
        font = load_font(theme.font, size)
        lines = _wrap(text, font, max_width, draw)
        fits = len(lines) <= max_lines and all(
            draw.textlength(line, font=font) <= max_width for line in lines
        )
        if fits:
            return font, lines
        if size <= theme.min_font_size:
            kept = lines[: max_lines - 1]
            rest = " ".join(lines[max_lines - 1 :])
            return font, [*kept, ellipsize(rest, font, max_width, draw)]
        size -= 4


def _rgba(colour: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    r, g, b = ImageColor.getrgb(colour)[:3]
    return r, g, b, round(255 * opacity)


def titled(image: Image.Image, text: str, theme: ThumbnailTheme) -> Image.Image:
    """``image`` (already thumbnail-sized) with ``text`` set large on a contrasting band, with
    an outline and a drop shadow so it reads on any picture and at phone size."""
    if theme.uppercase:
        text = text.upper()
    width, height = image.size
    margin = round(width * 0.05)
    font, lines = fit_text(text, theme, width - 2 * margin)
    draw = ImageDraw.Draw(Image.new("RGB", (8, 8)))
    ascent, descent = font.getmetrics() if hasattr(font, "getmetrics") else (font.size, 0)
    line_h = ascent + descent
    block_h = line_h * len(lines) + round(line_h * 0.2) * (len(lines) - 1)
    pad = round(line_h * 0.45)
    band_h = block_h + 2 * pad
    band_top = (
        height - band_h - round(height * 0.06) if theme.band_position == "bottom" else round(height * 0.06)
    )
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    layer = ImageDraw.Draw(overlay)
    layer.rectangle((0, band_top, width, band_top + band_h), fill=_rgba(theme.band_color, theme.band_opacity))
    accent_h = max(4, round(height * 0.012))
    layer.rectangle((0, band_top, round(width * 0.22), band_top + accent_h), fill=_rgba(theme.accent_color))
    stroke = max(2, round(line_h * 0.06))
    y = band_top + pad
    for line in lines:
        line_w = draw.textlength(line, font=font)
        x = margin if theme.text_align == "left" else (width - line_w) / 2
        shadow = max(2, round(line_h * 0.05))
        layer.text((x + shadow, y + shadow), line, font=font, fill=_rgba("#000000", 0.6))
        layer.text(
            (x, y),
            line,
            font=font,
            fill=_rgba(theme.text_color),
            stroke_width=stroke,
            stroke_fill=_rgba(theme.outline_color),
        )
        y += line_h + round(line_h * 0.2)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def card(theme: ThumbnailTheme) -> Image.Image:
    """A plain card in the theme's colours, for a title with no picture to sit on: the band
    colour shading darker downward, and an accent stripe across the top."""
    r, g, b = ImageColor.getrgb(theme.band_color)[:3]
    shade = np.linspace(1.0, 0.55, SIZE[1])[:, None, None]
    pixels = (np.array([r, g, b], dtype=np.float32)[None, None, :] * shade).repeat(SIZE[0], axis=1)
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")
    ImageDraw.Draw(image).rectangle((0, 0, SIZE[0], round(SIZE[1] * 0.03)), fill=theme.accent_color)
    return image


def with_logo(image: Image.Image, theme: ThumbnailTheme) -> Image.Image:
    """The theme's logo in its corner (nothing when the theme has none)."""
    if not theme.logo:
        return image
    with Image.open(theme.logo) as logo:
        return paste_logo(image, logo, theme)


def paste_logo(image: Image.Image, logo: Image.Image, theme: ThumbnailTheme) -> Image.Image:
    """``logo`` scaled to the theme's share of the width, in the theme's corner."""
    logo = logo.convert("RGBA")
    target_w = round(image.width * theme.logo_scale)
    logo = logo.resize(
        (target_w, max(1, round(logo.height * target_w / logo.width))), Image.Resampling.LANCZOS
    )
    margin = round(image.width * 0.03)
    vertical, horizontal = theme.logo_position.split("-")
    x = margin if horizontal == "left" else image.width - logo.width - margin
    y = margin if vertical == "top" else image.height - logo.height - margin
    canvas = image.convert("RGBA")
    canvas.alpha_composite(logo, (x, y))
    return canvas.convert("RGB")


def jpeg_bytes(image: Image.Image, max_bytes: int = MAX_JPEG_BYTES) -> tuple[bytes, int]:
    """``image`` as a JPEG under ``max_bytes``: the highest quality from 92 down that fits."""
    for quality in (92, 88, 84, 80, 75, 70, 60, 50):
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality, subsampling=0)
        if buffer.tell() <= max_bytes:
            return buffer.getvalue(), quality
    raise ValueError(f"a {image.size} thumbnail did not fit {max_bytes} bytes even at quality 50")


def to_image(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(rgb[..., :3]), "RGB")
