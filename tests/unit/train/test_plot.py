from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from srcli.train.plot import tick_labels


@given(low=st.floats(-1000, 1000), span=st.floats(1e-4, 1000))
def test_neighbouring_tick_labels_differ_and_stay_within_half_a_step(low, span):
    labels = tick_labels(low, low + span, 6)
    assert len(labels) == 6
    assert all(a != b for a, b in itertools.pairwise(labels))
    step = span / 5
    assert all(abs(float(label) - (low + step * i)) <= step / 2 for i, label in enumerate(labels))


def test_a_curve_that_moves_a_hundredth_of_a_decibel_gets_three_decimals():
    assert tick_labels(36.970, 36.980, 6) == ["36.970", "36.972", "36.974", "36.976", "36.978", "36.980"]
    assert tick_labels(20.0, 30.0, 6) == ["20", "22", "24", "26", "28", "30"]
