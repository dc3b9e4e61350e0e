"""The search's moves scored from the blocks they touch equal the same candidates scored whole."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.maths.jpeg import JpegLayout
from srcli.maths.jpeg_moves import local_tiers, move_tiers, tier_scores
from srcli.maths.jpeg_search import _strip_violation
from srcli.maths.libjpeg import bin_interval, libjpeg_workspace, quantize_workspace

LAYOUTS = [JpegLayout((2, 2)), JpegLayout((1, 2)), JpegLayout((2, 1)), JpegLayout((1, 1)), JpegLayout(gray=True)]


def _mcus_and_bins(layout: JpegLayout, count: int, seed: int) -> tuple[torch.Tensor, list]:
    """``count`` random full-size MCUs int16, a few rows saturated at 0 and 255 (so that some moves leave [0, 255]),
    and bins a step or two off their own coefficients (tables 1–4), so that scores range from 0 upwards."""
    generator = torch.Generator().manual_seed(seed)
    rows, cols = layout.mcu
    x = torch.randint(0, 256, (count, 1 if layout.gray else 3, rows, cols), generator=generator).to(torch.int16)
    x[0, :, :2], x[-1, :, -1] = 255, 0
    tables = torch.randint(1, 5, (2, 8, 8), generator=generator)
    planes = libjpeg_workspace(x.to(torch.uint8), layout)
    bins = []
    for workspace, table in zip((p for p in planes if p is not None), tables, strict=False):
        off = torch.randint(-1, 2, workspace.shape, generator=generator) * (
            torch.rand(workspace.shape, generator=generator) < 0.1
        )
        bins.append(bin_interval(quantize_workspace(workspace, table) + off, table))
    return x, bins


@settings(max_examples=20, deadline=None)
@given(layout=st.sampled_from(LAYOUTS), count=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_a_move_scored_from_the_blocks_it_touches_equals_the_candidate_scored_whole(layout, count, seed):
    x, bins = _mcus_and_bins(layout, count, seed)
    shape, sampling = tuple(x.shape[1:]), (1, 1) if layout.gray else layout.sampling
    for moves, tier in zip(move_tiers(shape, sampling), local_tiers(shape, sampling), strict=True):
        fast = tier_scores(x, tier, bins, layout)
        whole = torch.stack(
            [
                _strip_violation(x[i] + moves, [(low[i : i + 1], high[i : i + 1]) for low, high in bins], layout)[:, 0]
                for i in range(count)
            ],
            1,
        )
        assert fast.shape == (moves.shape[0], count) and torch.equal(fast, whole)
        assert bool((whole == 0).any() or (whole < torch.iinfo(torch.int64).max).any())


def test_every_move_changes_one_sampling_block_and_says_where():
    """A :class:`LocalTier` puts each move's change back where the dense tier has it (4:2:0, 3 × 16 × 16), and lists the
    moves luma block by luma block."""
    for moves, tier in zip(move_tiers((3, 16, 16), (2, 2)), local_tiers((3, 16, 16), (2, 2)), strict=True):
        rebuilt = torch.zeros_like(moves)
        for m in range(moves.shape[0]):
            r, c = int(tier.rows[m]), int(tier.cols[m])
            rebuilt[int(tier.order[m]), :, r : r + 2, c : c + 2] = tier.change[m]
        assert torch.equal(rebuilt, moves)
        luma_block = tier.rows // 8 * 2 + tier.cols // 8
        assert torch.equal(luma_block, luma_block.sort().values)


def test_a_tier_whose_move_spans_two_sampling_blocks_is_refused(monkeypatch):
    wide = torch.zeros((1, 3, 16, 16), dtype=torch.int16)
    wide[0, 0, 0, 1:3] = 1
    monkeypatch.setattr("srcli.maths.jpeg_moves.move_tiers", lambda shape, sampling: (wide,))
    local_tiers.cache_clear()
    with pytest.raises(ValueError, match="exactly one sampling block"):
        local_tiers((3, 16, 16), (2, 2))
    local_tiers.cache_clear()
