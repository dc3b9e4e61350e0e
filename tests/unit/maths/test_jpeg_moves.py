"""The search's moves scored from the blocks they touch equal the same candidates scored whole."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.maths.jpeg import JpegLayout
from srcli.maths.jpeg_moves import COLOUR_MOVES, local_tiers, move_tiers, tier_scores
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


def _moves_from_the_docstring(shape: tuple[int, int, int], sampling: tuple[int, int]) -> list[list[tuple[int, ...]]]:
    """The tiers :func:`move_tiers` documents, written out move by move: ± each colour move on each sampling block (if
    a block has several pixels), then on each pixel; last ±1 on one value. Each move a flat tuple, each tier sorted."""
    channels, rows, cols = shape
    regions = []
    if channels == 3:
        sr, sc = sampling
        blocks = [(r, c, sr, sc) for r in range(0, rows, sr) for c in range(0, cols, sc)] if sr * sc > 1 else []
        pixels = [(r, c, 1, 1) for r in range(rows) for c in range(cols)]
        regions = [region for region in (blocks, pixels) if region]
    tiers = []
    for region in regions:
        tier = []
        for colour in COLOUR_MOVES:
            for r, c, h, w in region:
                move = torch.zeros(shape, dtype=torch.int64)
                move[:, r : r + h, c : c + w] = torch.tensor(colour).view(3, 1, 1)
                tier += [move, -move]
        tiers.append(tier)
    singles = [torch.zeros(channels * rows * cols, dtype=torch.int64) for _ in range(channels * rows * cols)]
    for i, move in enumerate(singles):
        move[i] = 1
    tiers.append(singles + [-move for move in singles])
    return [sorted(tuple(move.flatten().tolist()) for move in tier) for tier in tiers]


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
def test_the_move_tiers_are_the_documented_moves_each_once(layout):
    """Every layout's tiers hold exactly the documented moves (no tier of blocks at 4:4:4, both signs), in order."""
    shape = (1 if layout.gray else 3, *layout.mcu)
    sampling = (1, 1) if layout.gray else layout.sampling
    tiers = move_tiers(shape, sampling)
    assert all(tier.dtype == torch.int16 for tier in tiers)
    assert [sorted(map(tuple, tier.flatten(1).tolist())) for tier in tiers] == _moves_from_the_docstring(
        shape, sampling
    )


def test_a_tier_with_more_moves_in_one_luma_block_is_refused(monkeypatch):
    """Moves on one luma block of four only: the groups by luma block would differ in size."""
    lopsided = torch.zeros((2, 3, 16, 16), dtype=torch.int16)
    lopsided[0, 0, 0, 0], lopsided[1, 0, 0, 0] = 1, -1
    monkeypatch.setattr("srcli.maths.jpeg_moves.move_tiers", lambda shape, sampling: (lopsided,))
    local_tiers.cache_clear()
    with pytest.raises(ValueError, match="as many moves as the others"):
        local_tiers((3, 16, 16), (2, 2))
    local_tiers.cache_clear()
