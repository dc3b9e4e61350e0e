"""The false-texture measure: local variance against its definition, zero on flat images, raised by noise on flat
areas (and more by more), blind to an edge's blur beside it, and the photo's own grain for the photo itself."""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.maths.metrics import false_texture, local_variance

sides = st.integers(14, 40)


@settings(max_examples=30, deadline=None)
@given(height=sides, width=sides, size=st.integers(1, 7), seed=st.integers(0, 2**31))
def test_local_variance_is_the_variance_of_each_window(height, width, size, seed):
    x = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    windows = x.unfold(2, size, 1).unfold(3, size, 1)
    expected = windows.var(dim=(-2, -1), correction=0)
    assert torch.allclose(local_variance(x, size), expected, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(height=sides, width=sides, photo=st.floats(0, 1), output=st.floats(0, 1), border=st.integers(0, 4))
def test_a_flat_output_of_a_flat_photo_scores_zero(height, width, photo, output, border):
    hr, sr = torch.full((1, 3, height, width), photo), torch.full((1, 3, height, width), output)
    score = false_texture(sr, hr, border)
    assert score.output < 1e-5 and score.photo < 1e-5 and score.flat == 1.0


@settings(max_examples=30, deadline=None)
@given(height=sides, width=sides, level=st.floats(0.2, 0.8), amplitude=st.floats(0.5, 8), seed=st.integers(0, 2**31))
def test_noise_on_a_flat_area_raises_the_score_and_more_noise_raises_it_more(height, width, level, amplitude, seed):
    generator = torch.Generator().manual_seed(seed)
    hr = torch.full((1, 3, height, width), level, dtype=torch.float64)
    hr = hr + 1 / 255 * torch.rand(1, 1, height, width, generator=generator, dtype=torch.float64)  # grain
    noise = torch.randn(1, 1, height, width, generator=generator, dtype=torch.float64) / 255
    quiet, loud = (false_texture(hr + a * noise, hr, border=0) for a in (amplitude, 2 * amplitude))
    assert quiet.flat == 1.0 and quiet.photo < 1
    assert quiet.output > false_texture(hr, hr, border=0).output
    assert loud.output > quiet.output


def test_the_photo_scores_its_own_grain(generator):
    hr = 0.5 + 0.004 * torch.rand(1, 3, 32, 32, generator=generator, dtype=torch.float64)
    score = false_texture(hr, hr, border=4)
    assert score.flat == 1.0 and 0 < score.output == score.photo < 3


def test_an_edge_blurred_into_its_flat_neighbours_is_not_texture():
    """Beside a step the blurred copy varies; the margin keeps those pixels out, and a blur scores below the photo."""
    hr = (torch.arange(48, dtype=torch.float64) >= 24).to(torch.float64).expand(1, 3, 48, 48) * 0.5
    blurred = torch.nn.functional.avg_pool2d(hr, 7, stride=1, padding=3, count_include_pad=False)
    assert false_texture(blurred, hr, border=0).output == 0.0
    assert false_texture(blurred, hr, border=0, margin=0).output > 0


def test_a_photo_with_nothing_flat_or_too_small_has_no_score(generator):
    busy = torch.rand(1, 3, 24, 24, generator=generator)
    assert math.isnan(false_texture(busy, busy, border=0).output)
    tiny = torch.zeros(1, 3, 6, 6)
    assert math.isnan(false_texture(tiny, tiny, border=1).photo)
