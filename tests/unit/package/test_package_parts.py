"""Packaging's pure parts: the evidence from the work files, thumbnail candidates from the
samples, ranking and rendering real-looking frames, and metadata.json with valid chapters."""

from __future__ import annotations

import numpy as np

from raybatch.analysis.edl import Edl
from raybatch.config.model import ThumbnailTheme
from raybatch.package import chapters as chapter_rules
from raybatch.package.candidates import candidates_from_samples
from raybatch.package.evidence import Evidence
from raybatch.package.metadata import chapter_boundaries, language_code, metadata_document, video_facts
from raybatch.package.thumbnail_set import rank_frames, render_thumbnails, thumbnail_index
from raybatch.package.writers import OfflineWriter
from tests.unit.package.test_thumbnails import blurred, textured

EDL = Edl(fps="25/1", source_frames=1500, keep=[(0, 500), (600, 1500)]).to_dict()  # 60 s, 4 s cut


def evidence(samples=None) -> Evidence:
    analysis = {
        "content_type": {"value": "educational"},
        "speech": [[0, 20], [25, 55]],
        "silences": [[21, 24.5], [50.0, 52.0]],
        "picture": {"dissolves": [[10.0, 11.0], [45.5, 47.0]]},  # a title fading in; the dissolve
    }
    shots = {"shots": [{"frame": 750, "time_s": 30.0}], "transitions": [[44.0, 46.0]]}
    return Evidence.from_documents(
        analysis=analysis, edl=EDL, samples=samples, shots=shots, duration_s=60.0,
        content_type="general", loudness_lufs=-16.0,
    )  # fmt: skip


def test_evidence_reads_the_analysis_edl_and_shots():
    found = evidence()
    assert found.content_type == "educational" and found.speech_s == 50
    assert found.keep_s == [(0.0, 20.0), (24.0, 60.0)] and found.removed_s == 4.0
    assert found.shots_s == [30.0] and found.transitions_s == [(10.0, 11.0), (44.0, 47.0)]
    bare = Evidence.from_documents(
        analysis=None,
        edl=EDL,
        samples=None,
        shots=None,
        duration_s=None,
        content_type="music",
        loudness_lufs=None,
    )
    assert bare.duration_s == 60.0 and bare.content_type == "music" and bare.speech_s is None


def test_candidates_skip_cuts_transitions_and_the_edit_and_fill_in_when_samples_are_few():
    times = [float(t) for t in range(1, 60, 2)]
    looks = {
        "brightness": 120.0,
        "contrast": 50.0,
        "saturation": 90.0,
        "sharpness": 200.0,
        "colourfulness": 40.0,
    }
    samples = {"time_s": times, **{name: [value] * len(times) for name, value in looks.items()}}
    candidates, rejected = candidates_from_samples(evidence(samples), 6)
    # Near the cut at 30 s, inside the title's blend (11 s) and the dissolve (45 s, 47 s).
    assert len(candidates) == 6 and rejected == {"removed by the edit": 2, "near a cut or transition": 3}
    for candidate in candidates:
        assert not 29.5 <= candidate.time_s <= 30.5 and not 43.5 <= candidate.time_s <= 47.5
        assert not 9.5 <= candidate.time_s <= 11.5
        assert not 20.0 <= candidate.time_s < 24.0
    filled, none_rejected = candidates_from_samples(evidence(), 3)
    assert len(filled) == 3 and none_rejected == {} and all(c.quality.brightness == 0 for c in filled)


def test_the_best_frame_wins_a_face_picks_the_closeup_and_every_strategy_renders():
    candidates, _ = candidates_from_samples(evidence(), 3)
    best, face, black = (
        textured(seed=1),
        blurred(textured(seed=2), radius=1),
        np.zeros((360, 640, 3), np.uint8),
    )
    rejected: dict[str, int] = {}

    def faces(rgb):
        return [(100, 100, 200, 220)] if rgb is face else []

    ranked = rank_frames(list(zip(candidates, [face, best, black], strict=True)), faces, rejected)
    assert ranked[0][1] is best and len(ranked) == 2 and rejected == {"black": 1}
    made = render_thumbnails(
        ranked, ["clean", "title", "closeup"], "Loops", ThumbnailTheme(), Edl.from_dict(EDL)
    )
    entries = {name: entry for name, _, entry in made}
    assert entries["title.jpg"]["text"] == "Loops" and entries["closeup.jpg"]["focus"] == "face"
    assert (
        entries["closeup.jpg"]["source_time_s"]
        == round(candidates[0].time_s, 3)
        != entries["clean.jpg"]["source_time_s"]
    )
    assert all(data[:2] == b"\xff\xd8" for _, data, _ in made)
    index = thumbnail_index([entry for _, _, entry in made], ranked, rejected)
    assert len(index["candidates"]) == 2 and index["rejected_samples"] == {"black": 1}


def test_metadata_has_valid_chapters_from_the_evidence():
    found = evidence()
    boundaries = chapter_boundaries(found, None)
    assert {b.kind for b in boundaries} == {"shot", "cut", "pause"}
    chapters = chapter_rules.plan_chapters(56.0, boundaries)
    facts = video_facts(
        found, relative_path="course/python_ep03_loops.mp4", duration_s=56.0, resolution=(1280, 720),
        chapters=chapters, transcript=None, language="en", keywords=["python"],
    )  # fmt: skip
    assert facts.episode == 3 and facts.cuts == 1 and facts.resolution == "1280x720"
    document = metadata_document(
        facts, OfflineWriter().write(facts), chapters, boundaries, writer={"kind": "offline"}, usage={}
    )
    assert document["chapters"][0]["start_s"] == 0 and len(document["chapters"]) >= 3
    assert document["chapters_text"] in document["description"] and document["series"]["episode"] == 3
    assert language_code("English") == "en" and language_code(None) is None
