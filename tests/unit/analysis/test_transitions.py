"""Gradual transitions as spans: the shot model's all-frames head, fades through black joined,
hard cuts left to the shot boundaries; and the span score the benchmark uses."""

from __future__ import annotations

import numpy as np

from raybatch.analysis.shots import span_f1
from raybatch.analysis.transitions import probability_spans, transition_spans

FPS = 25.0


def test_probability_spans_mark_gradual_transitions():
    probabilities = np.zeros(100)
    probabilities[40:55] = 0.3
    assert probability_spans(probabilities, FPS) == [(40 / 25, 55 / 25)]


def test_a_dissolve_is_one_span_and_a_hard_cut_is_none():
    every_frame = np.zeros(200)
    every_frame[60:85] = 0.9  # a 25-frame dissolve
    every_frame[150:152] = 0.95  # a hard cut: the model marks a frame or two
    brightness = np.full(200, 120.0)
    assert transition_spans(every_frame, brightness, FPS) == [(60 / 25, 85 / 25)]


def test_the_two_halves_of_a_fade_through_black_are_one_transition():
    every_frame = np.zeros(200)
    every_frame[100:108] = 0.8  # fading out
    every_frame[112:120] = 0.8  # fading in
    brightness = np.full(200, 120.0)
    brightness[100:108] = np.linspace(110, 20, 8)
    brightness[108:112] = 2.0
    brightness[112:120] = np.linspace(20, 110, 8)
    (span,) = transition_spans(every_frame, brightness, FPS)
    assert round(span[0] * FPS) <= 101 and round(span[1] * FPS) >= 119


def test_span_f1_needs_both_ends_within_the_tolerance():
    truth = [(70, 75), (140, 152)]
    assert span_f1([(70, 76), (141, 153)], truth)["f1"] == 1.0
    half = span_f1([(70, 76), (141, 160)], truth)
    assert half == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "matched": 1}
    assert span_f1([], [])["f1"] == 1.0 and span_f1([(1, 9)], [])["precision"] == 0.0


def test_wipes_found_in_the_picture_join_the_transitions():
    every_frame = np.zeros(200)
    every_frame[60:85] = 0.9
    brightness = np.full(200, 120.0)
    spans = transition_spans(every_frame, brightness, FPS, wipes=[(4.0, 4.6), (3.2, 3.5)])
    assert spans == [(60 / 25, 3.5), (4.0, 4.6)]  # a wipe overlapping the dissolve joins it
