"""Thumbnail scoring, selection and rendering as pure functions on arrays with known looks."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from raybatch.analysis.transitions import fade_spans
from raybatch.config.model import ThumbnailTheme
from raybatch.package import render
from raybatch.package import thumbnails as t


def textured(height=360, width=640, seed=0) -> np.ndarray:
    """A sharp, colourful, mid-grey picture (random blocks with edges)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(40, 215, size=(height // 8, width // 8, 3), dtype=np.uint8)
    return np.kron(blocks, np.ones((8, 8, 1), dtype=np.uint8))


def blurred(rgb: np.ndarray, radius=6) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(radius)))


def test_black_frame_is_rejected():
    black = np.full((360, 640, 3), 8, np.uint8)
    assert t.rejection(t.frame_quality(black)) == "black"


def test_washed_out_frame_is_rejected():
    white = np.clip(textured().astype(int) // 6 + 220, 0, 255).astype(np.uint8)
    assert t.rejection(t.frame_quality(white)) == "washed out"


def test_blurred_frame_is_rejected_and_sharp_one_kept():
    sharp = textured()
    assert t.rejection(t.frame_quality(sharp)) is None
    soft = blurred(sharp)
    quality = t.frame_quality(soft)
    assert quality.sharpness < t.frame_quality(sharp).sharpness / 10
    assert t.rejection(quality) == "blurry"


def test_mildly_soft_frame_is_blurry_only_relative_to_a_sharp_video():
    soft = blurred(textured(), radius=1.2)
    quality = t.frame_quality(soft)
    assert t.rejection(quality, typical_sharpness=None) is None
    assert t.rejection(quality, typical_sharpness=quality.sharpness * 4) == "blurry"


def test_mid_fade_frame_scores_below_the_full_frame_and_fade_span_covers_it():
    picture = textured()
    half = (picture.astype(np.float32) * 0.3).astype(np.uint8)
    full_q, fade_q = t.frame_quality(picture), t.frame_quality(half)
    assert t.score(fade_q, full_q.sharpness, 3, 0)["total"] < t.score(full_q, full_q.sharpness, 3, 0)["total"]
    # Per-frame brightness of a fade out to black and back in, at 25 fps.
    fps = 25.0
    ramp = np.linspace(120, 10, 25)
    brightness = np.concatenate([np.full(50, 120.0), ramp, np.full(10, 8.0), ramp[::-1], np.full(50, 120.0)])
    spans = fade_spans(brightness, fps)
    assert len(spans) == 1
    start, end = spans[0]
    mid_fade_out = (50 + 12) / fps
    assert start <= mid_fade_out <= end
    assert start >= 49 / fps and end <= (50 + 25 + 10 + 25 + 1) / fps


def test_eligibility_rules_on_a_timeline():
    sharp = t.frame_quality(textured())
    black = t.frame_quality(np.full((36, 64, 3), 5, np.uint8))
    times = [0.2, 3.0, 5.2, 7.0, 12.0, 15.0]
    qualities = [sharp, sharp, sharp, black, sharp, sharp]
    avoid = t.avoid_zones(20.0, boundaries_s=[5.0], transitions_s=[(14.5, 15.5)])
    kept = [(0.0, 10.0), (13.0, 20.0)]  # 10-13 s removed by the edit
    verdicts = dict(t.eligible(times, qualities, kept=kept, avoid=avoid, typical=sharp.sharpness))
    assert verdicts[0] == "near a cut or transition"  # the video's first half second
    assert verdicts[1] is None
    assert verdicts[2] == "near a cut or transition"  # 0.2 s after a cut
    assert verdicts[3] == "black"
    assert verdicts[4] == "removed by the edit"
    assert verdicts[5] == "near a cut or transition"  # inside a dissolve


def candidate(time_s, shot, total):
    c = t.Candidate(time_s, shot, t.FrameQuality(100, 50, 80, 300, 40))
    c.scores = {"total": total}
    return c


def test_choose_prefers_different_shots_then_spaced_frames():
    pool = [candidate(1, 0, 0.9), candidate(2, 0, 0.88), candidate(6, 1, 0.5), candidate(9, 0, 0.85)]
    picked = t.choose(pool, 3)
    assert [c.time_s for c in picked] == [1, 9, 6]  # shot 1's best joins before shot 0's second
    assert all(abs(a.time_s - b.time_s) >= t.MIN_SEPARATION_S for a in picked for b in picked if a is not b)


def test_aspect_and_closeup_boxes_stay_inside_and_keep_aspect():
    box = t.aspect_box(1920, 1080, 16 / 9)
    assert box == (0, 0, 1920, 1080)
    portrait = t.aspect_box(1080, 1920, 16 / 9)
    assert portrait[2] - portrait[0] == 1080 and abs((portrait[3] - portrait[1]) - 1080 * 9 / 16) <= 1
    face = (1700, 100, 1850, 280)  # near the top-right corner
    left, top, right, bottom = t.closeup_box(1920, 1080, face, 16 / 9)
    assert left >= 0 and top >= 0 and right <= 1920 and bottom <= 1080
    assert left <= face[0] and right >= face[2] and top <= face[1] and bottom >= face[3]
    assert abs((right - left) / (bottom - top) - 16 / 9) < 0.02
    assert right - left < 1920  # tighter than the frame


def test_salient_box_finds_the_object():
    frame = np.full((360, 640, 3), 90, np.uint8)
    frame[40:120, 480:600] = textured(80, 120)  # a detailed object in the top right
    left, top, right, bottom = t.salient_box(frame, 16 / 9, scale=0.5)
    assert left <= 540 <= right and top <= 80 <= bottom


@pytest.mark.parametrize("size", [(1920, 1080), (720, 1280), (200, 200)])
def test_renders_are_1280x720_jpegs_under_2mb(size):
    noisy = np.random.default_rng(1).integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
    image = render.to_image(noisy)
    theme = ThumbnailTheme()
    for picture in (
        render.clean(image),
        render.titled(render.clean(image), "A long title that has to wrap onto two lines at least", theme),
        render.crop_to(image, t.aspect_box(image.width, image.height, 16 / 9, scale=0.5)),
    ):
        data, _ = render.jpeg_bytes(picture)
        assert len(data) <= render.MAX_JPEG_BYTES
        decoded = Image.open(io.BytesIO(data))
        assert decoded.format == "JPEG" and decoded.size == render.SIZE


def test_title_text_fits_the_width():
    theme = ThumbnailTheme()
    font, lines = render.fit_text("Understanding Python Generators and Iterators in Depth", theme, 1152)
    assert 1 <= len(lines) <= 2
    assert all(font.getlength(line) <= 1152 for line in lines)


def test_a_title_too_long_even_at_the_smallest_size_ends_in_an_ellipsis_not_lost_words():
    theme = ThumbnailTheme()
    title = "Complete Python Tutorial Series – Episode 12: " + "very long words " * 12
    font, lines = render.fit_text(title, theme, 1152)
    assert font.size == theme.min_font_size and len(lines) == 2
    assert lines[-1].endswith("…") and lines[0].startswith("Complete Python")
    assert all(font.getlength(line) <= 1152 for line in lines)


def test_ellipsize_keeps_text_that_fits_and_cuts_a_single_long_word():
    font = render.load_font(None, 20)
    draw = ImageDraw.Draw(Image.new("RGB", (8, 8)))
    assert render.ellipsize("short", font, 400, draw) == "short"
    cut = render.ellipsize("x" * 200, font, 100, draw)
    assert cut.endswith("…") and font.getlength(cut) <= 100


def test_theme_colours_and_logo_are_used(tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (100, 100), (255, 0, 0, 255)).save(logo)
    theme = ThumbnailTheme(band_color="#0000FF", band_opacity=1.0, logo=str(logo), logo_position="top-left")
    base = render.to_image(np.full((720, 1280, 3), 128, np.uint8))
    picture = np.asarray(render.with_logo(render.titled(base, "Hi", theme), theme))
    assert tuple(picture[60, 60]) == (255, 0, 0)  # the logo in its corner
    assert tuple(picture[650, 1200]) == (0, 0, 255)  # the band at the bottom, in the theme's colour


def test_bad_theme_is_a_clear_error():
    with pytest.raises(ValueError, match="not a colour"):
        ThumbnailTheme(text_color="blurple")
    with pytest.raises(ValueError, match="no such file"):
        ThumbnailTheme(logo="/nonexistent/logo.png")


def test_free_spans_and_spread_give_candidates_clear_of_transitions():
    avoid = t.avoid_zones(2.4, boundaries_s=[], transitions_s=[(0.86, 1.14)])
    free = t.free_spans([(0.0, 2.4)], avoid)
    assert free == [(pytest.approx(1.64), pytest.approx(1.9))]
    free = t.free_spans([(0.0, 10.0), (12.0, 20.0)], t.avoid_zones(20.0, [5.0], []))
    assert free[0] == (12.0, 19.5) and len(free) == 3
    times = t.spread(free, 6)
    assert len(times) == 6 and not any(t.inside(x, t.avoid_zones(20.0, [5.0], [])) for x in times)
    assert all(any(a <= x <= b for a, b in free) for x in times)
