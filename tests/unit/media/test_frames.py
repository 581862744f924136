"""Reading raw RGB frames in bounded chunks."""

from __future__ import annotations

import io

import numpy as np

from raybatch.media.frames import iter_raw_frames, read_frames, sample_size


def test_frames_come_in_chunks_and_a_torn_last_frame_is_dropped(tmp_path):
    video = np.arange(10 * 2 * 4 * 3, dtype=np.uint8).reshape(10, 2, 4, 3)
    data = video.tobytes() + b"\x01\x02"  # the start of an eleventh frame
    chunks = list(read_frames(io.BytesIO(data), (4, 2), chunk=4))
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert np.array_equal(np.concatenate(chunks), video)
    path = tmp_path / "frames.rgb24"
    path.write_bytes(data)
    assert sum(len(c) for c in iter_raw_frames(str(path), (4, 2), chunk=3)) == 10


def test_sample_sizes_keep_the_aspect_and_even_sides():
    assert sample_size((1920, 1080), 270) == (480, 270)
    assert sample_size((1080, 1920), 270) == (270, 480)
    assert sample_size((721, 405), 270) == (480, 270)
