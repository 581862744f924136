"""Captions as SRT and WebVTT."""

from __future__ import annotations

from raybatch.package import captions


def test_captions_srt_and_vtt():
    segments = [(0.5, 2.0, "Hello there."), (1.8, 4.0, " "), (2.0, 61.25, "A " * 60)]
    srt = captions.to_srt(segments, duration_s=60.0)
    assert srt.startswith("1\n00:00:00,500 --> 00:00:02,000\nHello there.\n")
    assert "00:01:00,000" in srt and "00:01:01" not in srt  # clipped to the video's end
    for block in srt.strip().split("\n\n"):
        lines = block.splitlines()
        assert len(lines) <= 4 and all(len(line) <= 42 for line in lines[2:])
    vtt = captions.to_vtt(segments, duration_s=60.0)
    assert vtt.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nHello there.\n")


def test_code_in_speech_stays_valid_webvtt_and_srt():
    """A programming tutorial says "i < 10 && i --> 0": WebVTT escapes it as its spec requires;
    neither format may see a timing line inside a cue."""
    segments = [(0.0, 2.0, "while i < 10 && i --> 0")]
    vtt = captions.to_vtt(segments)
    assert "while i &lt; 10 &amp;&amp; i -&gt; 0" in vtt
    assert vtt.count("-->") == 1
    srt = captions.to_srt(segments)
    assert "while i < 10 && i -> 0" in srt and srt.count("-->") == 1
