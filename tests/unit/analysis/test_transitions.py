"""Transition spans from a shot model's probabilities."""

from __future__ import annotations

import numpy as np

from raybatch.analysis.transitions import probability_spans


def test_probability_spans_mark_gradual_transitions():
    probabilities = np.zeros(100)
    probabilities[40:55] = 0.3
    assert probability_spans(probabilities, 25.0) == [(40 / 25, 55 / 25)]
