"""Captions from transcript segments on the edited timeline: SubRip and WebVTT."""

from __future__ import annotations

import html
import textwrap

Segment = tuple[float, float, str]
MAX_LINE = 42


def _clock(time_s: float, separator: str) -> str:
    millis = max(0, round(time_s * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def cues(segments: list[Segment], duration_s: float | None = None) -> list[Segment]:
    """Segments cleaned for display: empty text dropped, ends clipped to the next start and to
    the video's end, text wrapped to two lines of at most 42 characters (longer ones split)."""
    ordered = sorted((s for s in segments if s[2].strip() and s[1] > s[0]), key=lambda s: s[0])
    result: list[Segment] = []
    for index, (start, end, text) in enumerate(ordered):
        if index + 1 < len(ordered):
            end = min(end, ordered[index + 1][0])
        if duration_s is not None:
            end = min(end, duration_s)
        if end <= start:
            continue
        # "-->" would read as a cue's timing line in both formats.
        lines = textwrap.wrap(" ".join(text.replace("-->", "->").split()), MAX_LINE)
        pieces = [lines[i : i + 2] for i in range(0, len(lines), 2)]
        step = (end - start) / len(pieces)
        for k, piece in enumerate(pieces):
            result.append((start + k * step, start + (k + 1) * step, "\n".join(piece)))
    return result


def to_srt(segments: list[Segment], duration_s: float | None = None) -> str:
    """SubRip text (numbered cues, ``HH:MM:SS,mmm``)."""
    blocks = [
        f"{i}\n{_clock(a, ',')} --> {_clock(b, ',')}\n{text}\n"
        for i, (a, b, text) in enumerate(cues(segments, duration_s), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: list[Segment], duration_s: float | None = None) -> str:
    """WebVTT text (``HH:MM:SS.mmm``); ``&``, ``<`` and ``>`` escaped as the spec requires
    (a tutorial's ``i < 10`` would otherwise open a tag)."""
    blocks = [
        f"{_clock(a, '.')} --> {_clock(b, '.')}\n{html.escape(text, quote=False)}\n"
        for a, b, text in cues(segments, duration_s)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)
