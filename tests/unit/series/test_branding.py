"""The series branding: palette derivation, the logo check, the title template, the sheet."""

import io

import numpy as np
import pytest
from PIL import Image

from raybatch.config.model import ThumbnailTheme
from raybatch.errors import ConfigError
from raybatch.series.branding import (
    check_logo,
    configured_palette,
    derive_palette,
    dominant_colours,
    preview_sheet,
    render_title,
    series_theme,
)


def _picture(colour: tuple[int, int, int], stripe: tuple[int, int, int] | None = None) -> Image.Image:
    pixels = np.full((360, 640, 3), colour, dtype=np.uint8)
    if stripe:
        pixels[150:210] = stripe
    return Image.fromarray(pixels)


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])


def test_dominant_colours_count_every_frame_together():
    colours = dict(dominant_colours([_picture((20, 40, 120)), _picture((20, 40, 120), (250, 200, 0))]))
    assert max(colours, key=colours.get) == "#142878"
    assert abs(sum(colours.values()) - 1.0) < 1e-6


def test_a_derived_palette_has_a_dark_band_of_the_common_hue_and_a_vivid_accent():
    palette = derive_palette(
        [_picture((20, 40, 120), (250, 200, 0)), _picture((30, 50, 140), (240, 190, 10))]
    )
    assert palette is not None and "2 episode" in palette.source
    band, accent = _rgb(palette.band), _rgb(palette.accent)
    assert band.max() < 60 and band[2] > band[0]  # dark, and still blue
    assert accent[0] > 200 and accent[1] > 150 and accent[2] < 80  # the yellow stripe
    assert derive_palette([]) is None


def test_a_configured_palette_wins_in_its_order():
    palette = configured_palette(["#1E2A44", "#FFC400"])
    assert (palette.band, palette.accent, palette.text) == ("#1E2A44", "#FFC400", "#FFFFFF")


def test_a_title_is_rendered_in_the_palette_on_its_frame_or_on_a_card():
    theme = series_theme(ThumbnailTheme(), configured_palette(["#1E2A44", "#FFC400"]))
    on_frame = np.asarray(render_title(_picture((200, 200, 200)), "Loops", 3, theme, None))
    on_card = np.asarray(render_title(None, "Loops", 3, theme, None))
    for picture in (on_frame, on_card):
        assert picture.shape == (720, 1280, 3)
        assert np.abs(picture[44, 44].astype(int) - _rgb("#FFC400")).max() < 12  # the episode badge
    assert np.abs(on_card[300, 900].astype(int) - _rgb("#1E2A44")).max() < 40  # the card


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, (255, 0, 0, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_logo_is_checked_before_any_work(tmp_path):
    good = tmp_path / "logo.png"
    good.write_bytes(_png((64, 32)))
    assert check_logo(str(good)) == good.read_bytes()
    theme = ThumbnailTheme()
    with_logo = np.asarray(render_title(None, "Loops", 1, theme, good.read_bytes()))
    red, green, _ = with_logo[40, 1280 - 60].astype(int)
    assert red > green + 80  # the half-transparent red logo, top right
    (tmp_path / "notes.png").write_text("not an image")
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png((5000, 10)))
    for path, says in [
        (tmp_path / "missing.png", "no such file"),
        (tmp_path / "notes.png", "not an image"),
        (huge, "larger than"),
    ]:
        with pytest.raises(ConfigError, match=says) as caught:
            check_logo(str(path))
        assert str(path) in str(caught.value) and "series_logo" in caught.value.hint


def test_the_preview_sheet_holds_every_episode():
    sheet = preview_sheet([(f"{n}. Episode", _picture((n * 40, 0, 0))) for n in range(1, 5)])
    assert sheet.size == (3 * 426 + 4 * 12, 2 * (240 + 34) + 3 * 12)


def test_a_long_caption_stays_under_its_own_thumbnail():
    label = "1. Complete Python Tutorial Series – Episode 1: Variables and Types"
    sheet = np.asarray(preview_sheet([(label, _picture((200, 0, 0))), ("2. Next", _picture((0, 200, 0)))]))
    caption_row = sheet[12 + 240 + 4 : 12 + 240 + 34]
    gap = caption_row[:, 12 + 426 + 1 : 12 + 426 + 12]
    assert (gap == (0x1A, 0x1A, 0x1A)).all(), "the caption ran into the next cell"
