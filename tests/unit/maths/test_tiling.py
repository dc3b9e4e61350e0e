"""Tile plans and the feathered blend: blends of consistent windows stay consistent, and seams soften."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.maths.tiling import _feather_weights, balanced_tiles, feathered_apply, plan_tiles, tile_apply


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


def _plain(window: torch.Tensor) -> torch.Tensor:
    return window.repeat_interleave(2, -2).repeat_interleave(2, -1)


def test_tiles_clip_their_windows_at_the_border():
    pads = [(t.top, t.bottom, t.pad_top, t.pad_bottom) for t in plan_tiles(10, 4, tile=4, overlap=2)]
    assert pads == [(0, 4, 0, 2), (4, 8, 2, 2), (8, 10, 2, 0)]
    cols = [(t.left, t.right, t.pad_left, t.pad_right) for t in plan_tiles(4, 10, tile=4, overlap=2)]
    assert cols == [(0, 4, 0, 2), (4, 8, 2, 2), (8, 10, 2, 0)]
    rows = [(t.top, t.bottom, t.pad_top, t.pad_bottom) for t in balanced_tiles(10, 4, tile=4, overlap=2)]
    assert rows == [(0, 3, 0, 2), (3, 6, 2, 2), (6, 10, 2, 0)]
    assert len(plan_tiles(3, 4, 1, 0)) == 12 and len(plan_tiles(3, 4, 0, 0)) == 1
    assert len(balanced_tiles(3, 4, 0, 0)) == 1


def test_tiled_local_upscale_is_the_untiled_one():
    """A local ``fn`` (2× pixel repeat) tiled on a non-square image, hard-edged, feathered and without overlap."""
    x = torch.rand(1, 3, 20, 28, dtype=torch.float64)
    shape = (1, 3, 40, 56)
    assert torch.equal(_assemble(tile_apply(_plain, x, 8, 2, 2), shape, 2), _plain(x))
    assert torch.allclose(_assemble(tile_apply(_plain, x, 8, 2, 2, feather=2), shape, 2), _plain(x))
    assert torch.allclose(_assemble(feathered_apply(_plain, x, 8, 0, 2, 2), shape, 2), _plain(x))
    assert torch.equal(_assemble(tile_apply(_plain, x, 0, 2, 2), shape, 2), _plain(x))


def test_tile_apply_with_a_feather_is_the_feathered_blend():
    x = torch.rand(1, 1, 24, 24, dtype=torch.float64)

    def biased(window: torch.Tensor) -> torch.Tensor:
        return _plain(window) + window.mean()

    for feather in (1, 3):
        got = [core for _, core in tile_apply(biased, x, 8, 4, 2, feather=feather)]
        want = [core for _, core in feathered_apply(biased, x, 8, 4, feather, 2)]
        assert len(got) == len(want) == 9
        assert all(torch.equal(a, b) for a, b in zip(got, want, strict=True))


def test_feather_weights_ramp_over_twice_the_feather_across_inner_borders():
    """Core [8, 16) of 24, feather 2, window [6, 18): pixel centres 6.5 … 17.5 ramp in quarters at both ends."""
    expected = [0.125, 0.375, 0.625, 0.875, 1, 1, 1, 1, 0.875, 0.625, 0.375, 0.125]
    assert _feather_weights(8, 16, 24, 2, 6, 18).tolist() == expected
    assert _feather_weights(0, 8, 24, 2, 0, 10).tolist() == [1, 1, 1, 1, 1, 1, 0.875, 0.625, 0.375, 0.125]
    assert _feather_weights(16, 24, 24, 2, 14, 24).tolist() == [0.125, 0.375, 0.625, 0.875, 1, 1, 1, 1, 1, 1]
