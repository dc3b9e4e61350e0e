"""The texture gate: zero on flat photos, a half where the local std equals the level, more with more contrast."""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.train.texture_gate import texture_gate

shapes = st.tuples(st.integers(1, 2), st.integers(5, 20), st.integers(5, 20))


def _photo(seed: int, batch: int, height: int, width: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return 0.3 + 0.4 * torch.rand(batch, 3, height, width, generator=generator, dtype=torch.float64)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31), levels=st.floats(0.5, 20))
def test_the_gate_lies_in_0_1_and_is_zero_on_a_flat_photo(shape, seed, levels):
    photo = _photo(seed, *shape)
    gate = texture_gate(photo, levels)
    assert gate.shape == (shape[0], 1, shape[1], shape[2]) and gate.dtype == photo.dtype
    assert bool((gate >= 0).all() & (gate < 1).all())
    flat = torch.full_like(photo, float(photo[0, 0, 0, 0]))
    assert bool((texture_gate(flat, levels) < 1e-9).all())  # E[x²] − E[x]² leaves only round-off


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31), gain=st.floats(1.5, 2.5))
def test_more_contrast_opens_the_gate_further(shape, seed, gain):
    photo = _photo(seed, *shape)
    steeper = 0.5 + gain * (photo - 0.5)  # the same picture, its luma deviations × gain (within [0, 1])
    before, after = texture_gate(photo, 3.0), texture_gate(steeper, 3.0)
    assert bool((after >= before - 1e-12).all()) and bool((after > before).any())


def test_the_gate_is_one_half_where_the_local_std_equals_the_level():
    """Gray columns alternating 10 levels apart: every 5×5 window holds 3 columns of one and 2 of the other
    (reflect padding keeps the alternation), variance 10² · 6/25."""
    columns = 0.4 + 10 / 255 * (torch.arange(12) % 2)  # gray: full-range luma equals 255 · RGB
    photo = columns.expand(1, 3, 9, 12).to(torch.float64)
    gate = texture_gate(photo, 10 * math.sqrt(6 / 25))
    assert torch.allclose(gate, torch.full_like(gate, 0.5), atol=1e-9)
