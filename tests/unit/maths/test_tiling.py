"""Tile plans and the feathered blend: blends of consistent windows stay consistent, and seams soften."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.maths.tiling import balanced_tiles, feathered_apply, tile_apply


def _assemble(pairs, shape, scale):
    out = torch.zeros(shape, dtype=torch.float64)
    for region, core in pairs:
        out[..., region.top * scale : region.bottom * scale, region.left * scale : region.right * scale] = core
    return out


@settings(max_examples=25, deadline=None)
@given(height=st.integers(1, 40), width=st.integers(1, 40), tile=st.integers(4, 24), seed=st.integers(0, 2**31))
def test_balanced_tiles_cover_the_image_once(height, width, tile, seed):
    covered = torch.zeros(height, width, dtype=torch.int32)
    for region in balanced_tiles(height, width, tile, 3):
        covered[region.top : region.bottom, region.left : region.right] += 1
        assert region.bottom - region.top >= min(height, tile // 2) and region.bottom - region.top <= tile
    assert bool((covered == 1).all())


@settings(max_examples=25, deadline=None)
@given(height=st.integers(8, 40), width=st.integers(8, 40), tile=st.integers(8, 16), seed=st.integers(0, 2**31))
def test_a_blend_of_consistent_windows_is_consistent(height, width, tile, seed):
    """Every window's output has the window's LR as its 2×2 means, with its own null-space noise."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 2, height, width, generator=generator, dtype=torch.float64)

    def noisy_upscale(window: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(*window.shape[:2], 2 * window.shape[2], 2 * window.shape[3], dtype=torch.float64)
        noise -= F.avg_pool2d(noise, 2).repeat_interleave(2, -2).repeat_interleave(2, -1)
        return window.repeat_interleave(2, -2).repeat_interleave(2, -1) + noise

    out = _assemble(feathered_apply(noisy_upscale, x, tile, 4, 3, 2), (1, 2, 2 * height, 2 * width), 2)
    assert torch.allclose(F.avg_pool2d(out.double(), 2), x, atol=1e-12)


def test_feathering_turns_a_seam_into_a_ramp_and_keeps_what_all_windows_agree_on():
    x = torch.rand(1, 1, 32, 32, dtype=torch.float64)

    def biased(window: torch.Tensor) -> torch.Tensor:  # each window off by its own constant
        return window.repeat_interleave(2, -2).repeat_interleave(2, -1) + window.mean()

    def plain(window: torch.Tensor) -> torch.Tensor:
        return window.repeat_interleave(2, -2).repeat_interleave(2, -1)

    shape = (1, 1, 64, 64)
    hard = _assemble(tile_apply(biased, x, 16, 8, 2), shape, 2) - plain(x)
    soft = _assemble(feathered_apply(biased, x, 16, 8, 8, 2), shape, 2) - plain(x)
    jump = lambda bias: (bias[..., 1:] - bias[..., :-1]).abs().max()  # noqa: E731
    assert jump(soft) < jump(hard) / 8
    assert torch.allclose(_assemble(feathered_apply(plain, x, 16, 8, 8, 2), shape, 2), plain(x))
