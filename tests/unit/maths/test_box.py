"""The box downsample against Pillow's ``Image.reduce`` and against block means computed with exact fractions.

Pillow 13's ``reduce`` divides by multiplying with a truncated fixed-point reciprocal, ``((sum + n//2) · m) >> 24``
with ``m = ⌊2³² / (256 n)⌋`` (Reduce.c): exact half-up rounding where ``n`` is a power of two (×2, ×4, ×8, ×16), a
level low on some means just above .5 elsewhere, and exact for every scale on blocks whose mean is an integer (the
blocks srcli's exact outputs are made of)."""

from __future__ import annotations

import math
from fractions import Fraction

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.io.images import pil_to_tensor, tensor_to_pil
from srcli.maths.box import box_float, box_rounded, box_sums


def _pillow_reduce(hr: torch.Tensor, scale: int) -> torch.Tensor:
    return pil_to_tensor(tensor_to_pil(hr).reduce(scale)).to(torch.int32)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    scale=st.sampled_from([2, 4, 8, 16]),
    channels=st.sampled_from([1, 3]),
    h=st.integers(1, 4),
    w=st.integers(1, 4),
)
def test_box_rounded_is_pillow_reduce_at_power_of_two_scales(seed, scale, channels, h, w):
    g = torch.Generator().manual_seed(seed)
    hr = torch.randint(0, 256, (channels, h * scale, w * scale), generator=g, dtype=torch.uint8)
    result = box_rounded(hr, scale)
    assert result.dtype == torch.int32
    assert torch.equal(result, _pillow_reduce(hr, scale))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), scale=st.integers(2, 16))
def test_blocks_with_integer_means_reduce_to_them_in_pillow_too(seed, scale):
    """What an exact output is made of: Pillow's reduce and box_rounded both give the integer mean back."""
    g = torch.Generator().manual_seed(seed)
    means = torch.randint(1, 255, (3, 3, 2), generator=g)
    hr = means.repeat_interleave(scale, 1).repeat_interleave(scale, 2)
    hr[:, 0::scale, 0::scale] += 1  # one level up and one down inside every block: the sums are kept
    hr[:, 1::scale, 1::scale] -= 1
    assert torch.equal(box_rounded(hr, scale), means.to(torch.int32))
    assert torch.equal(_pillow_reduce(hr.to(torch.uint8), scale), means.to(torch.int32))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), scale=st.integers(2, 7), depth=st.sampled_from([255, 65535]))
def test_box_rounded_rounds_the_exact_mean_half_up(seed, scale, depth):
    g = torch.Generator().manual_seed(seed)
    hr = torch.randint(0, depth + 1, (2, 2 * scale, 3 * scale), generator=g)
    expected = [
        [
            [
                math.floor(
                    Fraction(int(hr[c, i * scale : (i + 1) * scale, j * scale : (j + 1) * scale].sum()), scale**2)
                    + Fraction(1, 2)
                )
                for j in range(3)
            ]
            for i in range(2)
        ]
        for c in range(2)
    ]
    assert box_rounded(hr, scale).tolist() == expected


def test_box_rounded_rounds_exact_halves_up():
    # 2×2 blocks with means 0.5, 10.5, 254.75, 0.25, 6.75, 0.75
    top = [0, 0, 10, 11, 254, 255, 0, 0, 7, 7, 1, 1]
    bottom = [0, 2, 10, 11, 255, 255, 0, 1, 7, 6, 1, 0]
    hr = torch.tensor([[top, bottom]], dtype=torch.uint8)
    assert box_rounded(hr, 2).flatten().tolist() == [1, 11, 255, 0, 7, 1]
    assert _pillow_reduce(hr, 2).flatten().tolist() == [1, 11, 255, 0, 7, 1]


def test_box_float_is_the_block_mean():
    hr = torch.tensor([[[1, 2, 0, 0, 9, 9], [3, 5, 0, 1, 9, 8]]], dtype=torch.uint8)
    result = box_float(hr, 2)
    assert result.dtype == torch.float64
    assert result.tolist() == [[[2.75, 0.25, 8.75]]]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), scale=st.integers(2, 4), h=st.integers(1, 4), w=st.integers(1, 4))
def test_box_float_of_sixteen_bit_values_is_exact(seed, scale, h, w):
    g = torch.Generator().manual_seed(seed)
    hr = torch.randint(0, 65536, (2, h * scale, w * scale), generator=g)
    sums = hr.view(2, h, scale, w, scale).sum((2, 4))  # integer block sums, then one division
    assert torch.equal(box_float(hr, scale), sums.to(torch.float64) / (scale * scale))


def test_box_sums_of_full_16_bit_blocks_at_x16_are_exact():
    # 256 values of 65535 sum to 16 776 960, just under 2^24: float32 still holds every sum exactly
    hr = torch.full((1, 32, 48), 65535, dtype=torch.int32)
    hr[0, 0, 0] = 65534
    sums = box_sums(hr, 16)
    assert sums.tolist() == [[[16776959.0, 16776960.0, 16776960.0], [16776960.0] * 3]]
    assert box_rounded(hr, 16).tolist() == [[[65535] * 3] * 2]
    assert box_float(hr, 16)[0, 0, 0].item() == 16776959 / 256


def test_box_sums_strip_by_strip_are_the_whole_images(monkeypatch):
    g = torch.Generator().manual_seed(0)
    hr = torch.randint(0, 256, (3, 7 * 4, 5 * 4), generator=g, dtype=torch.uint8)
    whole = box_sums(hr, 4)
    monkeypatch.setattr("srcli.maths.box.STRIP_ROWS", 2)  # four strips, the last one short
    assert torch.equal(box_sums(hr, 4), whole)
    assert whole[1, 6, 4].item() == hr[1, 24:28, 16:20].sum().item()
