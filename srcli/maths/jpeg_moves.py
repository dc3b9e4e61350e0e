"""The small changes the JPEG search (:mod:`srcli.maths.jpeg_search`) tries on one MCU, in tiers, and their scores
from the blocks they touch.

Every move changes pixels inside one chroma sampling block, so of a full-size MCU's libjpeg workspace it changes
one luma block and one sample of each chroma plane. Its score ``V`` (the workspace's distance outside the bins)
is the MCU's less the share of that luma block and of the chroma blocks, plus theirs computed again: at 4:2:0
three DCT blocks instead of the MCU's six, and the colour conversion of 4 pixels instead of 256.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from srcli.maths.jpeg import JpegLayout
from srcli.maths.libjpeg import downsample, islow_dct, sample_means, ycbcr_fixed

COLOUR_MOVES = ((1, 1, 1), (2, -1, 0), (0, -1, 5))
"""RGB changes that move libjpeg's Y by 1 (Cb, Cr by 0), Cr by about 1.4 (Y, Cb by under 0.02) and Cb by about
2.8 (Y, Cr by under 0.02)."""
CANDIDATE = torch.int16
"""The dtype of candidate pixels (a value may step just outside [0, 255]): int64 took 10× as long to make and lay
side by side for a move tier."""
Bins = list[tuple[torch.Tensor, torch.Tensor]]
"""Workspace bins ``(low, high)``, int32: luma first, then chroma (none for gray)."""


@functools.lru_cache(maxsize=8)
def move_tiers(shape: tuple[int, int, int], sampling: tuple[int, int]) -> tuple[torch.Tensor, ...]:
    """The changes the search tries on a ``(C, r, c)`` MCU, in tiers ``(M, C, r, c)`` int16 (cheapest first): for
    RGB, ± each of :data:`COLOUR_MOVES` on each chroma sampling block, then on each pixel (they move luma or one
    chroma plane alone, so the bins of one are met without leaving those of another); last ±1 on one value.
    The same for every MCU of one shape, so made once (the tensors are shared: never changed in place)."""
    channels, rows, cols = shape
    count = channels * rows * cols
    single = torch.eye(count, dtype=torch.int64).view(count, channels, rows, cols)
    if channels == 1:
        return (torch.cat((single, -single)).to(CANDIDATE),)
    sr, sc = sampling
    block_rows, block_cols = math.ceil(rows / sr), math.ceil(cols / sc)
    ids = torch.arange(block_rows * block_cols).view(block_rows, block_cols)
    ids = ids.repeat_interleave(sr, 0).repeat_interleave(sc, 1)[:rows, :cols]
    pixels = torch.eye(rows * cols, dtype=torch.int64).view(-1, rows, cols)
    blocks = (ids[None] == torch.arange(block_rows * block_cols).view(-1, 1, 1)).to(torch.int64)
    colours = torch.tensor(COLOUR_MOVES, dtype=torch.int64).view(-1, 3, 1, 1)
    tiers = [blocks, pixels] if sr * sc > 1 else [pixels]
    coloured = [(colours[:, None] * where[None, :, None]).flatten(0, 1) for where in tiers]
    return tuple(torch.cat((moves, -moves)).to(CANDIDATE) for moves in (*coloured, single))


@dataclass(frozen=True)
class LocalTier:
    """A tier of ``M`` moves by where each acts, grouped by the luma block they change (the same number in each):
    ``rows``, ``cols`` ``(M,)`` int64, the top-left pixel of the sampling block a move changes, ``change``
    ``(M, C, sr, sc)`` int16, what it adds there, and ``order`` ``(M,)`` int64, each move's place in
    :func:`move_tiers`' tier."""

    rows: torch.Tensor
    cols: torch.Tensor
    change: torch.Tensor
    order: torch.Tensor


@functools.lru_cache(maxsize=8)
def local_tiers(shape: tuple[int, int, int], sampling: tuple[int, int]) -> tuple[LocalTier, ...]:
    """:func:`move_tiers` of a full-size MCU of ``shape`` ``(C, r, c)`` (``r``, ``c`` multiples of ``sampling``)
    as :class:`LocalTier` s."""
    channels, rows, cols = shape
    sr, sc = sampling
    local = []
    for tier in move_tiers(shape, sampling):
        by_block = tier.reshape(-1, channels, rows // sr, sr, cols // sc, sc).permute(0, 2, 4, 1, 3, 5)
        touched = by_block.flatten(3).ne(0).any(3).flatten(1)  # (M, sampling blocks)
        if not bool((touched.sum(1) == 1).all()):
            raise ValueError("every move must change pixels of exactly one sampling block")
        block = touched.to(torch.int64).argmax(1)
        top, left = block // (cols // sc) * sr, block % (cols // sc) * sc
        luma_block = top // 8 * (cols // 8) + left // 8
        order = torch.argsort(luma_block, stable=True)
        blocks = rows // 8 * (cols // 8)
        if not torch.equal(luma_block[order], torch.arange(blocks).repeat_interleave(block.numel() // blocks)):
            raise ValueError("every luma block must have as many moves as the others")
        change = by_block.flatten(1, 2)[torch.arange(block.numel()), block]
        local.append(LocalTier(top[order], left[order], change[order], order))
    return tuple(local)


def distance_outside(workspace: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Each value of an integer ``workspace``'s distance outside its bin ``[low, high]`` (broadcast): 0 inside."""
    return (low - workspace).clamp_(min=0) + (workspace - high).clamp_(min=0)


def _outside(workspace: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """``(..., 8, 8)`` int32 workspace's distance outside ``[low, high]``, summed per block: ``(...)`` int64."""
    return distance_outside(workspace, low, high).sum((-2, -1), dtype=torch.int64)


def _luma_blocks(plane: torch.Tensor) -> torch.Tensor:
    """The 8×8 blocks of ``(n, H, W)`` in raster order: ``(n, H/8 · W/8, 8, 8)``."""
    n, h, w = plane.shape
    return plane.reshape(n, h // 8, 8, w // 8, 8).transpose(2, 3).reshape(n, -1, 8, 8)


def tier_scores(x: torch.Tensor, tier: LocalTier, bins: Bins, layout: JpegLayout) -> torch.Tensor:
    """``V`` ``(M, n)`` (in :func:`move_tiers`' order) of each move of ``tier`` added to each of ``n`` full-size MCUs
    ``x`` ``(n, C, r, c)`` int16 in [0, 255], against their ``bins`` (luma ``(n, 1, r, c)``, chroma
    ``(n, 2, 8, 8)``); the maximum int64 where a move takes a value outside [0, 255]. The same as scoring
    ``x + move`` whole."""
    n = x.shape[0]
    sr, sc = layout.sample_block
    moves, count = tier.rows.numel(), sr * sc
    span_r, span_c = torch.arange(sr), torch.arange(sc)
    at_rows = (tier.rows[:, None] + span_r)[:, :, None]
    at_cols = (tier.cols[:, None] + span_c)[:, None, :]
    patch = x[:, :, at_rows, at_cols].to(torch.int32) + tier.change.transpose(0, 1)  # (n, C, M, sr, sc)
    outside = ((patch < 0) | (patch > 255)).flatten(3).any(3).any(1)  # (n, M)
    pixels = x.to(torch.int32)
    planes = pixels if layout.gray else ycbcr_fixed(pixels)
    new = patch.flatten(3) if layout.gray else ycbcr_fixed(patch.flatten(3))  # (n, C, M, sr·sc)

    luma_low, luma_high = (_luma_blocks(bound[:, 0]) for bound in bins[0])  # (n, B, 8, 8)
    base = _luma_blocks(planes[:, 0])
    blocks = base.shape[1]
    by_block = _outside(islow_dct(base.reshape(-1, 1, 8, 8)).view_as(base), luma_low, luma_high)  # (n, B)
    scores = (by_block.sum(1, keepdim=True) - by_block).repeat_interleave(moves // blocks, 1)  # (n, M)
    candidates = base.repeat_interleave(moves // blocks, 1).view(n, moves, 64)
    where = ((tier.rows % 8)[:, None, None] + span_r[:, None]) * 8 + (tier.cols % 8)[:, None, None] + span_c
    candidates.scatter_(2, where.reshape(1, moves, count).expand(n, -1, -1), new[:, 0])
    workspace = islow_dct(candidates.view(n * moves, 1, 8, 8)).view(n, blocks, -1, 8, 8)
    scores += _outside(workspace, luma_low[:, :, None], luma_high[:, :, None]).view(n, moves)

    if not layout.gray:  # the chroma blocks' own share is in neither the MCU's luma score nor a move's
        chroma_low, chroma_high = bins[1]
        samples = downsample(planes[:, 1:], (sr, sc)).flatten(2)  # (n, 2, 64)
        moved = sample_means(new[:, 1:].sum(3, dtype=torch.int32), count, tier.cols // sc)  # (n, 2, M)
        grid = samples[:, None].repeat(1, moves, 1, 1)  # (n, M, 2, 64)
        where = ((tier.rows // sr) * 8 + tier.cols // sc).view(1, moves, 1, 1).expand(n, -1, 2, -1)
        grid.scatter_(3, where, moved.transpose(1, 2)[..., None])
        workspace = islow_dct(grid.view(n * moves, 2, 8, 8)).view(n, moves, 2, 8, 8)
        scores += _outside(workspace, chroma_low[:, None], chroma_high[:, None]).sum(2)
    scores.masked_fill_(outside, torch.iinfo(torch.int64).max)
    return scores.T[torch.argsort(tier.order)]  # in move_tiers' order
