"""The EDL as an OpenTimelineIO timeline, so an editor can open the cut in their NLE."""

from __future__ import annotations

from fractions import Fraction

from raybatch.analysis.edl import Edl
from raybatch.io.names import printable


def edl_to_otio(edl: Edl, source_uri: str, *, name: str, has_audio: bool) -> str:
    """``otio_json`` text: one video track (and one audio track) of clips, one per kept range,
    each referencing the source file at the range's source frames."""
    import opentimelineio as otio

    rate = float(Fraction(edl.fps))
    available = otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(edl.source_frames, rate)
    )
    timeline = otio.schema.Timeline(name=name)
    kinds = [otio.schema.TrackKind.Video] + ([otio.schema.TrackKind.Audio] if has_audio else [])
    for kind in kinds:
        track = otio.schema.Track(name=f"{kind} (raybatch EDL)", kind=kind)
        for index, (start, end) in enumerate(edl.keep):
            reference = otio.schema.ExternalReference(
                target_url=printable(source_uri), available_range=available
            )
            track.append(
                otio.schema.Clip(
                    name=f"{name} keep {index + 1}",
                    media_reference=reference,
                    source_range=otio.opentime.TimeRange(
                        otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(end - start, rate)
                    ),
                )
            )
        timeline.tracks.append(track)
    timeline.metadata["raybatch"] = {"decision": edl.decision, "cuts": edl.cuts}
    return otio.adapters.write_to_string(timeline, "otio_json")
