"""Room for a job's work, checked before any video starts: a disk too small for even the first
video's work would otherwise fail it minutes in, with a half-written work folder."""

from __future__ import annotations

import shutil
from fractions import Fraction

from raybatch.analysis.scan import SMALL_SIZE
from raybatch.errors import StorageError
from raybatch.io.names import printable
from raybatch.io.storage import is_local, local_path
from raybatch.media.audio_render import MAX_CHUNK_S, render_workers
from raybatch.media.commands import delivered_channels
from raybatch.media.probe import MediaInfo, probe_media
from raybatch.media.runner import MediaError

#: The edited sound, and the audio pass's fitted and rendered tracks: each float samples at the
#: delivery rate, at most stereo (and a few chunks more of a long track, see below).
_SOUND_COPIES = 3
_WAV_BYTES_PER_SAMPLE = 4
_WAV_SAMPLE_RATE = 48000
#: Encoded segments, then the assembled video beside them: each about the input's size.
_ENCODED_COPIES = 2
_MIB = 1024 * 1024


def estimate_work_bytes(size_bytes: int, media: MediaInfo | None) -> int:
    """The work files one video needs at its peak: the encoded segments and the assembled
    video (each taken as the input's size), the shot model's frames and the sound's float copies."""
    need = _ENCODED_COPIES * size_bytes
    if media is None:
        return need
    frames = media.duration_s * float(Fraction(media.video.fps))
    need += int(frames * SMALL_SIZE[0] * SMALL_SIZE[1] * 3)
    if media.audio is not None:
        # A long track's codec samples: the chunks with its highest peaks, one per render worker.
        sampled_s = (
            min(media.duration_s, render_workers() * MAX_CHUNK_S) if media.duration_s > MAX_CHUNK_S else 0
        )
        seconds = _SOUND_COPIES * media.duration_s + sampled_s
        need += int(seconds * _WAV_SAMPLE_RATE * delivered_channels(media) * _WAV_BYTES_PER_SAMPLE)
    return need


def check_room_for_work(output_root: str, video_uri: str, size_bytes: int) -> None:
    """Refuse, before any work, an output disk without room for the first video's work.
    Object stores have no such bound; an input that cannot be probed is estimated by size
    (its own error comes when it is processed)."""
    if not is_local(output_root):
        return
    media = None
    if is_local(video_uri):
        try:
            media = probe_media(local_path(video_uri), size_bytes=size_bytes, timeout_s=60)
        except (MediaError, OSError):
            media = None
    need = estimate_work_bytes(size_bytes, media)
    free = shutil.disk_usage(local_path(output_root)).free
    if free < need:
        raise StorageError(
            f"{output_root}: {free / _MIB:.1f} MiB free, but the first video ({printable(video_uri)}) needs "
            f"about {need / _MIB:.1f} MiB of work space there",
            hint="free space on that disk, or give --output a folder on a larger one; then run again",
        )
