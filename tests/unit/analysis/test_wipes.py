"""Wipes and slides from the picture's motion, on 48x27 frames made here: two textured pictures
joined by a wipe or a slide of known frames, in every direction, and the look-alikes that are
not transitions (a cut, a dissolve, a bar crossing a still picture, a long pan)."""

from __future__ import annotations

import numpy as np
import pytest

from raybatch.analysis.blends import blend_spans
from raybatch.analysis.motion import MotionTrack, PictureMotion, profile_shifts
from raybatch.analysis.wipes import crossing_offsets, slide_runs, wipe_spans

FPS = 25.0
HEIGHT, WIDTH = 27, 48
#: Frames of the first picture before the transition starts, and of the second after it.
BEFORE, AFTER = 60, 60


def picture(seed: int, width: int = WIDTH) -> np.ndarray:
    """A blocky random texture (3x4-pixel cells): detail a shift can be measured on."""
    cells = np.random.default_rng(seed).integers(20, 235, (HEIGHT // 3, width // 4, 3))
    return np.kron(cells, np.ones((3, 4, 1))).astype(np.uint8)


def with_grain(frames: np.ndarray, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, 2, frames.shape)
    return np.clip(frames + noise, 0, 255).astype(np.uint8)


def wipe_frame(a: np.ndarray, b: np.ndarray, progress: float, direction: str) -> np.ndarray:
    """``b`` revealed over ``a`` up to ``progress`` (0 to 1), entering from ``direction``'s side."""
    frame = a.copy()
    if direction in ("left", "right"):
        edge = round(WIDTH * progress)
        if direction == "left":
            frame[:, WIDTH - edge :] = b[:, WIDTH - edge :]
        else:
            frame[:, :edge] = b[:, :edge]
    else:
        edge = round(HEIGHT * progress)
        if direction == "up":
            frame[HEIGHT - edge :] = b[HEIGHT - edge :]
        else:
            frame[:edge] = b[:edge]
    return frame


def slide_frame(a: np.ndarray, b: np.ndarray, progress: float, direction: str) -> np.ndarray:
    """``a`` pushed out by ``b``, which enters from the right (``left``) or the bottom (``up``),
    moved by whole pixels of a frame four times larger and scaled down (as the 48x27 decode of
    a real slide sees it: moving by fractions of a pixel)."""
    big_a, big_b = (np.kron(p, np.ones((4, 4, 1))) for p in (a, b))
    axis, length = (1, WIDTH * 4) if direction == "left" else (0, HEIGHT * 4)
    shift = round(length * progress)
    joined = np.concatenate([big_a, big_b], axis=axis)
    big = joined[:, shift : shift + WIDTH * 4] if axis == 1 else joined[shift : shift + HEIGHT * 4]
    return big.reshape(HEIGHT, 4, WIDTH, 4, 3).mean(axis=(1, 3)).astype(np.uint8)


def clip(kind: str, frames: int, direction: str) -> tuple[np.ndarray, tuple[int, int]]:
    """Two pictures joined by a transition of ``frames`` frames, and its ``(start, end)``: the
    last frame of the first picture and the first whole frame of the second (as ffmpeg's xfade
    counts them)."""
    a, b = picture(1), picture(2)
    make = wipe_frame if kind == "wipe" else slide_frame
    middle = [make(a, b, step / frames, direction) for step in range(1, frames)]
    video = np.stack([a] * BEFORE + middle + [b] * AFTER)
    return with_grain(video), (BEFORE - 1, BEFORE - 1 + frames)


def motion_of(video: np.ndarray, chunk: int = 250) -> PictureMotion:
    track = MotionTrack()
    for start in range(0, len(video), chunk):
        track.add(video[start : start + chunk])
    return track.motion()


def found_frames(video: np.ndarray) -> list[tuple[int, int]]:
    return [(round(a * FPS), round(b * FPS)) for a, b in wipe_spans(motion_of(video), FPS)]


def assert_one_span_near(found: list[tuple[int, int]], truth: tuple[int, int]) -> None:
    assert len(found) == 1, found
    (start, end) = found[0]
    assert abs(start - truth[0]) <= 2 and abs(end - truth[1]) <= 2, (found, truth)


@pytest.mark.parametrize("frames", [5, 12, 25, 50])
@pytest.mark.parametrize("direction", ["left", "right", "up", "down"])
def test_a_wipe_is_one_span_with_both_ends_within_two_frames(frames, direction):
    video, truth = clip("wipe", frames, direction)
    assert_one_span_near(found_frames(video), truth)


@pytest.mark.parametrize("frames", [5, 12, 25, 50])
@pytest.mark.parametrize("direction", ["left", "up"])
def test_a_slide_is_one_span_with_both_ends_within_two_frames(frames, direction):
    video, truth = clip("slide", frames, direction)
    assert_one_span_near(found_frames(video), truth)


def test_a_cut_a_dissolve_and_a_still_picture_are_not_wipes():
    a, b = picture(1).astype(np.float32), picture(2).astype(np.float32)
    dissolve = [a + (b - a) * step / 25 for step in range(1, 25)]
    video = with_grain(np.stack([a] * 60 + [b] * 60 + dissolve + [a] * 60))
    assert found_frames(video) == []


def test_a_bar_crossing_a_still_picture_is_not_a_wipe():
    """The bar draws a wipe's line in the change image, but the picture after is the one before."""
    still = picture(3)
    frames = []
    for step in range(80):
        frame = still.copy()
        left = step - 10  # enters at frame 10, leaves the frame by frame 62
        if left + 4 >= 0 and left < WIDTH:
            frame[:, max(0, left) : max(0, left + 4)] = 255
        frames.append(frame)
    assert found_frames(with_grain(np.stack(frames))) == []


def test_a_long_steady_pan_is_not_a_slide():
    """A pan over three frames' width of one wide picture: steady, but not one frame's travel."""
    wide = picture(4, width=WIDTH * 4)
    frames = [wide[:, offset : offset + WIDTH] for offset in [0] * 30 + list(range(0, 145, 2)) + [144] * 30]
    assert found_frames(with_grain(np.stack(frames))) == []


def test_shifts_are_measured_to_a_fraction_of_a_pixel_and_unknown_on_a_flat_picture():
    wide = picture(5, width=WIDTH * 2)
    moving = np.stack([wide[:, offset : offset + WIDTH] for offset in (0, 2, 4)])
    motion = motion_of(moving)
    assert np.allclose(motion.shift_x[1:], 2.0, atol=0.3) and np.allclose(motion.shift_y[1:], 0.0, atol=0.3)
    flat = np.full((3, HEIGHT, WIDTH, 3), 128, np.uint8)
    assert np.isnan(motion_of(flat).shift_x[1:]).all()
    assert profile_shifts(np.zeros((1, WIDTH, 9), np.float32)).shape == (0,)


def test_the_motion_is_the_same_whatever_the_chunks():
    video, _ = clip("slide", 12, "left")
    whole, pieces = motion_of(video, chunk=len(video)), motion_of(video, chunk=7)
    for name in ("columns", "rows", "shift_x", "shift_y", "grid"):
        assert np.allclose(getattr(whole, name), getattr(pieces, name), equal_nan=True), name
    assert whole.frames == len(video) and np.isnan(whole.shift_x[0])


def test_an_edge_crosses_the_columns_in_order_from_either_side():
    assert crossing_offsets(4, 8, forwards=True).tolist() == [2, 4, 6, 8]
    assert crossing_offsets(4, 8, forwards=False).tolist() == [8, 6, 4, 2]


def test_slide_runs_need_steady_motion_that_adds_up_to_one_frame():
    steady = np.r_[np.zeros(10), np.full(12, 4.0), np.zeros(10)]  # 48 pixels in 12 frames
    assert slide_runs(steady, WIDTH) == [(9, 21)]
    pausing = np.r_[np.zeros(10), np.full(6, 4.0), [0.0], np.full(6, 4.0), np.zeros(10)]  # still for a frame
    assert slide_runs(pausing, WIDTH) == [(9, 22)]
    assert slide_runs(np.r_[np.zeros(10), np.full(12, 8.0), np.zeros(10)], WIDTH) == []  # two frames
    uneven = np.r_[np.zeros(10), np.full(6, 1.0), np.full(6, 7.0), np.zeros(10)]
    assert slide_runs(uneven, WIDTH) == []
    assert slide_runs(np.r_[np.zeros(10), np.full(12, np.nan), np.zeros(10)], WIDTH) == []


def test_a_slide_after_a_picture_drifting_the_same_way_keeps_its_start():
    """The shifts alone run on from the drift into the slide (one run, too long to be a slide);
    the slide's seam line, with one frame's shift along it, gives its true start."""
    # The first picture: soft colour bands drifting down (as ffmpeg's gradients source does).
    rows = np.arange(HEIGHT * 8)[:, None, None]
    columns = np.arange(WIDTH * 4)[None, :, None]
    phases = np.array([0.0, 2.0, 4.0])
    tall = 128 + 90 * np.sin(rows / 60.0 + phases) * np.cos(columns / 61.0 + phases)
    # The second picture: large cells of other colours (its seam stands out of the texture).
    cells = np.random.default_rng(8).integers(0, 255, (3, 4, 3))
    big_b = np.kron(cells, np.ones((HEIGHT * 4 // 3, WIDTH, 1)))

    def small(big: np.ndarray) -> np.ndarray:
        return big.reshape(HEIGHT, 4, WIDTH, 4, 3).mean(axis=(1, 3)).astype(np.uint8)

    drift = [small(tall[2 * step : 2 * step + HEIGHT * 4]) for step in range(40)]  # 0.5 px a frame
    last = tall[78 : 78 + HEIGHT * 4]
    joined = np.concatenate([last, big_b])
    slide = [small(joined[round(HEIGHT * 4 * step / 50) :][: HEIGHT * 4]) for step in range(1, 51)]
    video = with_grain(np.stack(drift + slide + [small(big_b)] * 40))
    assert_one_span_near(found_frames(video), (39, 89))


@pytest.mark.parametrize("frames", [0, 1, 2, 3, 5, 8, 30, 79])
def test_videos_shorter_than_the_longest_transition_are_searched_too(frames):
    video, _ = clip("wipe", 5, "left")
    assert found_frames(video[:frames]) in ([], [(59, 64)])
    assert blend_spans(motion_of(video[:frames]), FPS) == []
