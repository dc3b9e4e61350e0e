"""Resampling an estimate between integer scales: area keeps every LR pixel's box mean; both keep sizes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.maths.resample import area_block, resample

scales = st.tuples(st.integers(2, 16), st.integers(2, 16)).filter(lambda pair: pair[0] != pair[1])


@settings(max_examples=20, deadline=None)
@given(scales, st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**16))
def test_area_keeps_the_box_mean_of_every_lr_pixel(pair, h, w, seed):
    source, target = pair
    x = torch.rand(1, 2, source * h, source * w, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    y = resample(x, source, target, "area")
    assert y.shape == (1, 2, target * h, target * w)
    assert torch.allclose(F.avg_pool2d(y, target), F.avg_pool2d(x, source), atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(scales)
def test_area_blocks_are_averages_covering_every_source_pixel_equally(pair):
    source, target = pair
    block = area_block(source, target)
    assert (block >= 0).all() and torch.allclose(block.sum(1), torch.ones(target, dtype=torch.float64))
    assert torch.allclose(block.sum(0), torch.full((source,), target / source, dtype=torch.float64))


def test_area_is_local_to_each_lr_pixel_and_a_constant_stays_constant():
    x = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
    x[..., :8, :8] = 1.0  # one LR pixel's 8×8 block of a 2×2 LR image
    y = resample(x, 8, 5, "area")
    assert torch.allclose(y[..., :5, :5], torch.ones(1, 1, 5, 5, dtype=torch.float64), atol=1e-12)
    assert not y[..., 5:, :].any() and not y[..., :, 5:].any()


def test_bicubic_is_antialiased_and_sized():
    stripes = torch.tensor([0.0, 1.0]).repeat(32).view(1, 1, 1, 64).expand(1, 1, 64, 64)  # the finest detail at ×8
    y = resample(stripes, 8, 5, "bicubic")
    assert y.shape == (1, 1, 40, 40) and float(y[..., 5:-5, 5:-5].std()) < 0.1  # filtered, not aliased


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="resample must be one of"):
        resample(torch.zeros(1, 1, 8, 8), 8, 5, "nearest")
    with pytest.raises(ValueError, match="not a multiple"):
        resample(torch.zeros(1, 1, 9, 8), 8, 5, "area")


def test_bicubic_samples_at_pixel_centres():
    """A ramp is kept by the cubic: output pixel ``j`` of a ×2 sits at ``(j + ½)/2 − ½`` (not ``align_corners``)."""
    ramp = torch.arange(8, dtype=torch.float64).expand(1, 1, 8, 8).clone()
    row = resample(ramp, 1, 2, "bicubic")[0, 0, 3, 3:13]
    assert row.tolist() == pytest.approx([(j + 0.5) / 2 - 0.5 for j in range(3, 13)], abs=1e-12)


def test_area_keeps_a_float32_image_float32():
    x = torch.rand(1, 3, 16, 24)
    y = resample(x, 8, 5, "area")
    assert y.dtype == torch.float32
    assert torch.allclose(F.avg_pool2d(y, 5), F.avg_pool2d(x, 8), atol=1e-6)
