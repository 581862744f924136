"""The series branding: one palette, font and layout on every episode's title thumbnail, the
optional series logo, and a preview sheet of them all.

The palette is the configuration's, or derived from the episodes' own title frames: their
dominant colours together (Pillow's median-cut quantiser on each frame), a dark shade of the most
common one for the title band, the most vivid one for the accent. Rendering waits for the series
step, so every title is drawn once, with the palette the whole series shares.
"""

from __future__ import annotations

import colorsys
import io
from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import Image, ImageDraw, UnidentifiedImageError

from raybatch.config.model import ThumbnailTheme
from raybatch.errors import ConfigError
from raybatch.io.storage import exists, read_bytes, size
from raybatch.package import render

#: The largest logo file and picture accepted: a logo is a small mark on a 1280x720 thumbnail.
MAX_LOGO_BYTES = 10 * 1024 * 1024
MAX_LOGO_SIDE = 4096
#: Where the episode number sits; the logo keeps the theme's corner.
BADGE_POSITION = "top-left"
#: Colours in each frame's quantised summary.
COLOURS_PER_FRAME = 6


@dataclass(frozen=True)
class Palette:
    """The series colours: title band, accent (stripe and episode badge), text."""

    band: str
    accent: str
    text: str
    source: str
    dominant: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*(max(0, min(255, round(c))) for c in rgb))


def dominant_colours(images: list[Image.Image], count: int = COLOURS_PER_FRAME) -> list[tuple[str, float]]:
    """The colours the images share most, with the share of all their pixels each covers."""
    shares: dict[str, float] = {}
    for image in images:
        small = image.convert("RGB").resize((160, 90))
        quantised = small.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
        palette = quantised.getpalette() or []
        for pixels, index in quantised.getcolors() or []:
            colour = _hex(tuple(palette[index * 3 : index * 3 + 3]))
            shares[colour] = shares.get(colour, 0.0) + pixels / (160 * 90 * len(images))
    return sorted(shares.items(), key=lambda item: -item[1])


def _hsv(colour: str) -> tuple[float, float, float]:
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hsv(r, g, b)


def _from_hsv(h: float, s: float, v: float) -> str:
    return _hex(tuple(c * 255 for c in colorsys.hsv_to_rgb(h, s, v)))


def derive_palette(images: list[Image.Image]) -> Palette | None:
    """The series palette from its episodes' title frames; ``None`` without any frame."""
    if not images:
        return None
    colours = dominant_colours(images)
    common = colours[0][0]
    # The band: the most common hue, dark enough for white text to read on it.
    h, s, _ = _hsv(common)
    band = _from_hsv(h, min(s, 0.6), 0.16)
    # The accent: the most vivid colour among those covering a real part of the pictures.
    vivid = max(
        (c for c, share in colours if share >= 0.02), key=lambda c: _hsv(c)[1] * _hsv(c)[2], default=common
    )
    vh, vs, vv = _hsv(vivid)
    accent = _from_hsv(vh, max(vs, 0.65), max(vv, 0.85)) if vs > 0.12 else "#FFC400"
    source = f"derived from {len(images)} episode title frame(s)"
    return Palette(band, accent, "#FFFFFF", source, [c for c, _ in colours[:6]])


def configured_palette(colours: list[str]) -> Palette:
    """``series.branding.palette``: band, then accent, then text colour (white when unset)."""
    band = colours[0]
    accent = colours[1] if len(colours) > 1 else "#FFC400"
    text = colours[2] if len(colours) > 2 else "#FFFFFF"
    return Palette(band, accent, text, "series.branding.palette", list(colours))


def series_theme(theme: ThumbnailTheme, palette: Palette) -> ThumbnailTheme:
    """The thumbnail theme with the series palette in it."""
    return theme.model_copy(
        update={"band_color": palette.band, "accent_color": palette.accent, "text_color": palette.text}
    )


def check_logo(uri: str) -> bytes:
    """The series logo's bytes, checked before any work starts: it must exist, be readable, be
    an image and be a reasonable size. Raises :class:`ConfigError` naming the file and the fix."""
    where = f"series.branding.series_logo {uri!r}"
    fix = "point series_logo at a PNG or JPEG logo (a path or URL), or remove the key"
    try:
        if not exists(uri):
            raise ConfigError(f"{where}: no such file", hint=fix)
        if size(uri) > MAX_LOGO_BYTES:
            raise ConfigError(f"{where}: larger than {MAX_LOGO_BYTES // 2**20} MiB", hint=fix)
        data = read_bytes(uri)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read ({exc})", hint=fix) from exc
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ConfigError(f"{where}: not an image Pillow can read ({exc})", hint=fix) from exc
    if max(width, height) > MAX_LOGO_SIDE:
        raise ConfigError(f"{where}: {width}x{height} is larger than {MAX_LOGO_SIDE} px a side", hint=fix)
    return data


def with_badge(image: Image.Image, number: int, theme: ThumbnailTheme) -> Image.Image:
    """The episode number in a badge of the accent colour (top left)."""
    font = render.load_font(theme.font, round(image.height * 0.07))
    label = f"EP {number:02d}"
    draw = ImageDraw.Draw(image)
    margin = round(image.width * 0.03)
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    pad = round((bottom - top) * 0.45)
    box = (margin, margin, margin + right - left + 2 * pad, margin + bottom - top + 2 * pad)
    draw.rectangle(box, fill=theme.accent_color, outline=theme.band_color, width=max(2, pad // 4))
    draw.text((margin + pad - left, margin + pad - top), label, font=font, fill=theme.band_color)
    return image


def render_title(
    base: Image.Image | None, text: str, number: int | None, theme: ThumbnailTheme, logo: bytes | None
) -> Image.Image:
    """An episode's title thumbnail in the series branding: its frame (or a card in the
    palette), the title band, the episode badge and the series logo."""
    picture = render.titled(
        base.convert("RGB").resize(render.SIZE) if base else render.card(theme), text, theme
    )
    if number is not None:
        picture = with_badge(picture, number, theme)
    if logo:
        with Image.open(io.BytesIO(logo)) as mark:
            picture = render.paste_logo(picture, mark, theme)
    return picture


def preview_sheet(titled: list[tuple[str, Image.Image]], columns: int = 3) -> Image.Image:
    """Every episode's title thumbnail side by side, a label under each, in episode order."""
    cell_w, cell_h, label_h, gap = 426, 240, 34, 12
    rows = max(1, -(-len(titled) // columns))
    width = columns * cell_w + (columns + 1) * gap
    height = rows * (cell_h + label_h) + (rows + 1) * gap
    sheet = Image.new("RGB", (width, height), "#1A1A1A")
    draw = ImageDraw.Draw(sheet)
    font = render.load_font(None, 20)
    for index, (label, image) in enumerate(titled):
        x = gap + (index % columns) * (cell_w + gap)
        y = gap + (index // columns) * (cell_h + label_h + gap)
        sheet.paste(image.resize((cell_w, cell_h)), (x, y))
        caption = render.ellipsize(label, font, cell_w, draw)
        draw.text((x, y + cell_h + 6), caption, font=font, fill="#EEEEEE")
    return sheet
