"""Shot detection: TransNetV2's windows, static windows, fusion with the content signal, F1."""

import numpy as np

from raybatch.analysis.shots import (
    WindowStream,
    boundaries_from_probabilities,
    f1_score,
    fuse_boundaries,
    is_static_window,
    iter_window_batches,
    padded_length,
    stitch_predictions,
    window_starts,
)


def frames_numbered(n):
    return np.arange(n, dtype=np.uint8)[:, None, None, None].repeat(3, axis=-1)


def test_windows_cover_every_frame_once_as_the_authors_do():
    for n in (1, 49, 50, 51, 100, 137, 250):
        before, after = padded_length(n)
        assert before == 25 and (before + n + after) % 50 == 0
        windows = [w for batch in iter_window_batches(frames_numbered(n), 4) for w in batch]
        assert len(windows) == len(window_starts(n))
        assert all(w.shape[0] == 100 for w in windows)
        # The middle 50 of each window, stitched, are the frames in order, each exactly once.
        stitched = stitch_predictions([np.stack([w[:, 0, 0, 0] for w in windows]).astype(float)], n)
        assert stitched.tolist() == list(range(n))


def test_window_stream_matches_batching_in_any_chunking():
    frames = frames_numbered(173)
    whole = [w for b in iter_window_batches(frames, 1) for w in b]
    stream = WindowStream()
    streamed = []
    for chunk in np.array_split(frames, 7):
        streamed += stream.push(chunk)
    streamed += stream.finish()
    assert len(streamed) == len(whole) and all((a == b).all() for a, b in zip(streamed, whole, strict=True))


def test_static_windows_are_recognised():
    still = np.full((100, 27, 48, 3), 90, np.uint8)
    assert is_static_window(still)
    moving = still.copy()
    moving[50:] = 200
    assert not is_static_window(moving)


def test_model_boundaries_and_fusion_with_content_spikes():
    probabilities = np.zeros(200)
    probabilities[30:32] = 0.9  # a transition the model sees
    assert boundaries_from_probabilities(probabilities) == [32]
    diffs = np.full(200, 2.0)
    brightness = np.full(200, 120.0)
    diffs[70] = 60.0  # a hard cut the model missed (say, a 3-frame shot)
    assert fuse_boundaries(probabilities, diffs, brightness) == [32, 70]
    diffs[31] = 60.0  # the same cut seen by both is reported once, on the content's exact frame
    assert fuse_boundaries(probabilities, diffs, brightness) == [31, 70]


def test_fusion_ignores_fades_and_merges_a_dip_to_black():
    probabilities = np.zeros(200)
    diffs = np.full(200, 1.0)
    brightness = np.full(200, 120.0)
    # A fade out of black: the first step from black to barely visible jumps in hue and
    # saturation, then the picture keeps brightening for many frames.
    brightness[:50] = 0.5
    brightness[50:80] = np.linspace(2, 120, 30)
    diffs[50] = 45.0
    diffs[51:80] = np.linspace(25, 3, 29)
    assert fuse_boundaries(probabilities, diffs, brightness) == []
    # A spike whose next frames keep changing as much is motion, not a cut.
    diffs[120:124] = [40.0, 30.0, 28.0, 26.0]
    assert fuse_boundaries(probabilities, diffs, brightness) == []
    # The model marks a fade-out and a fade-in 12 frames apart around black frames: one transition.
    probabilities[140:142] = 0.8
    probabilities[152:154] = 0.8
    brightness[140:156] = [80, 40, 10, 2, 0, 0, 3, 12, 25, 40, 55, 70, 85, 100, 110, 120]
    assert fuse_boundaries(probabilities, diffs, brightness) == [144]
    # Twelve frames apart with no black between: two transitions.
    brightness[140:156] = 120.0
    assert fuse_boundaries(probabilities, diffs, brightness) == [142, 154]


def test_f1_matches_within_tolerance_once():
    assert f1_score([10, 50, 90], [11, 52, 200])["f1"] == round(2 * (2 / 3) * (2 / 3) / (4 / 3), 3)
    assert f1_score([10, 11], [10])["precision"] == 0.5
    assert f1_score([], [])["f1"] == 1.0
    # A gradual transition matches anywhere in its span (plus tolerance), once.
    assert f1_score([45], [(38, 50)])["f1"] == 1.0
    assert f1_score([36, 52], [(38, 50)])["precision"] == 0.5
    assert f1_score([35], [(38, 50)])["recall"] == 0.0


def test_a_wipe_without_a_shot_start_gets_one_in_its_middle():
    from raybatch.analysis.shots import with_wipe_shots

    # 25 fps: the first wipe (frames 100-112) holds no shot start, the second (200-210) one.
    assert with_wipe_shots([50, 205], [(4.0, 4.48), (8.0, 8.4)], 25.0) == [50, 106, 205]
