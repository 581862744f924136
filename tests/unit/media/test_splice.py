"""Applying an EDL to sound: lengths kept, joins crossfaded."""

import numpy as np

from raybatch.media.splice import frames_to_samples, splice


def test_splice_keeps_length_and_crossfades_quietly():
    rate = 48000
    t = np.arange(rate * 3) / rate
    source = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None]
    keep = frames_to_samples([(0, 25), (50, 75)], 25.0, rate)
    out = splice(source, keep, fade=960)
    assert len(out) == sum(b - a for a, b in keep)
    # No sample jumps at the join more than the sine itself can move between two samples.
    step = np.abs(np.diff(out[:, 0])).max()
    assert step <= 2 * np.pi * 440 / rate * 0.5 * 1.5
