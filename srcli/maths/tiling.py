"""Tiled inference in LR pixels: each tile sees ``overlap`` pixels of context on every side
and contributes only its core, so tile borders fall on LR pixel borders.

Each output pixel comes from exactly one tile, which is why no blend buffer as large as the
output is needed: with an overlap at least the network's receptive radius, the core of a tile
is what the whole image would give (up to float summation order), so there is nothing left to
blend. PD and exact quantisation are local to LR blocks, so they run per tile core and tiling
can never break consistency.

Where the overlap is below the receptive radius (RRDBNet's is 349 LR pixels), tiles see different
context and would meet with a seam: :func:`feathered_apply` blends neighbouring windows over
``feather`` LR pixels on each side of every core border instead, holding one strip of tile rows. Its
weights are constant over each LR pixel's s×s block and sum to 1, so a blend of windows that are each
consistent with the LR is consistent too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

DEFAULT_CPU_TILE = 256
MIN_TILE = 16


@dataclass(frozen=True)
class Tile:
    """A core region ``[top, bottom) × [left, right)`` of the LR image and its padded window.

    Example:
        >>> tile = Tile(top=2, bottom=4, left=0, right=2, pad_top=1, pad_bottom=0, pad_left=0, pad_right=1)
        >>> tuple(tile.window(torch.zeros(1, 1, 4, 4)).shape)
        (1, 1, 3, 3)
    """

    top: int
    bottom: int
    left: int
    right: int
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int

    def window(self, x: torch.Tensor) -> torch.Tensor:
        """The padded input window of ``(N, C, H, W)``."""
        return x[
            ...,
            self.top - self.pad_top : self.bottom + self.pad_bottom,
            self.left - self.pad_left : self.right + self.pad_right,
        ]

    def core(self, upscaled_window: torch.Tensor, scale: int) -> torch.Tensor:
        """The core of the network's output for :meth:`window`, ``(N, C, s·(bottom−top), s·(right−left))``."""
        height, width = (self.bottom - self.top) * scale, (self.right - self.left) * scale
        top, left = self.pad_top * scale, self.pad_left * scale
        return upscaled_window[..., top : top + height, left : left + width]


def plan_tiles(height: int, width: int, tile: int, overlap: int) -> list[Tile]:
    """Cover an ``height × width`` LR image with cores of at most ``tile`` pixels a side.

    ``tile <= 0`` means one tile. Context windows are clipped at the image border.

    Example:
        >>> [(t.top, t.bottom, t.pad_top, t.pad_bottom) for t in plan_tiles(10, 4, tile=4, overlap=2)]
        [(0, 4, 0, 2), (4, 8, 2, 2), (8, 10, 2, 0)]
    """
    if tile <= 0:
        tile = max(height, width)
    tiles = []
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            bottom, right = min(top + tile, height), min(left + tile, width)
            tiles.append(
                Tile(
                    top,
                    bottom,
                    left,
                    right,
                    min(overlap, top),
                    min(overlap, height - bottom),
                    min(overlap, left),
                    min(overlap, width - right),
                )
            )
    return tiles


def tile_apply(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, overlap: int, scale: int, feather: int = 0
) -> Iterator[tuple[Tile, torch.Tensor]]:
    """Yield ``(tile, core output)`` for every tile of ``x`` ``(N, C, H, W)``; with ``feather`` > 0 the
    cores are blended (:func:`feathered_apply`).

    ``fn`` maps ``(N, C, h, w)`` → ``(N, C', s·h, s·w)``; the core output is
    ``(N, C', s·(bottom − top), s·(right − left))``.

    Example:
        >>> x = torch.rand(1, 3, 6, 6)
        >>> up = lambda w: w.repeat_interleave(2, -1).repeat_interleave(2, -2)
        >>> [tuple(core.shape) for _, core in tile_apply(up, x, tile=4, overlap=1, scale=2)]
        [(1, 3, 8, 8), (1, 3, 8, 4), (1, 3, 4, 8), (1, 3, 4, 4)]
    """
    if feather > 0:
        yield from feathered_apply(fn, x, tile, overlap, feather, scale)
        return
    for region in plan_tiles(x.shape[-2], x.shape[-1], tile, overlap):
        yield region, region.core(fn(region.window(x)), scale)


def balanced_tiles(height: int, width: int, tile: int, overlap: int) -> list[Tile]:
    """Like :func:`plan_tiles`, with cores of near-equal sides (at least ``tile // 2`` where a side is
    split), so that no thin last tile limits the feather."""
    if tile <= 0:
        return plan_tiles(height, width, tile, overlap)

    def cuts(length: int) -> list[int]:
        count = -(-length // tile)
        return [length * index // count for index in range(count + 1)]

    rows, cols = cuts(height), cuts(width)
    return [
        Tile(top, bottom, left, right, min(overlap, top), min(overlap, height - bottom), min(overlap, left),
             min(overlap, width - right))
        for top, bottom in itertools.pairwise(rows)
        for left, right in itertools.pairwise(cols)
    ]  # fmt: skip


def _feather_weights(start: int, stop: int, length: int, feather: int, low: int, high: int) -> torch.Tensor:
    """1-D weights over LR positions ``[low, high)`` of a core ``[start, stop)`` on an axis of ``length``:
    1 inside, ramping to 0 over ``feather`` pixels either side of each inner core border."""
    positions = torch.arange(low, high, dtype=torch.float64) + 0.5
    rise = ((positions - (start - feather)) / (2 * feather)).clamp(0, 1) if start > 0 else torch.ones_like(positions)
    fall = (((stop + feather) - positions) / (2 * feather)).clamp(0, 1) if stop < length else torch.ones_like(positions)
    return torch.minimum(rise, fall)


def feathered_apply(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, overlap: int, feather: int, scale: int
) -> Iterator[tuple[Tile, torch.Tensor]]:
    """Yield ``(tile, core output)`` for every tile of :func:`balanced_tiles`, each core the blend of the
    windows that reach it: weight :func:`_feather_weights` (vertical × horizontal), normalised, constant
    per LR pixel. ``feather`` is capped by ``overlap`` and half the smallest split core side.

    ``fn`` maps ``(N, C, h, w)`` → ``(N, C', s·h, s·w)``. Memory: the outputs of two to three tile rows.
    """
    height, width = x.shape[-2:]
    tiles = balanced_tiles(height, width, tile, overlap)
    split = [t.bottom - t.top for t in tiles if t.bottom - t.top < height] + [
        t.right - t.left for t in tiles if t.right - t.left < width
    ]
    feather = max(1, min([feather, overlap, *(side // 2 for side in split)]))
    rows: list[list[Tile]] = [[t for t in tiles if t.top == top] for top in sorted({t.top for t in tiles})]
    strips: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # row index → (weighted sum, weight) of its cores
    for index, row in enumerate(rows):
        for region in row:
            top, left = region.top - region.pad_top, region.left - region.pad_left
            bottom, right = region.bottom + region.pad_bottom, region.right + region.pad_right
            output = fn(region.window(x))
            vertical = _feather_weights(region.top, region.bottom, height, feather, top, bottom)
            horizontal = _feather_weights(region.left, region.right, width, feather, left, right)
            weight = (vertical[:, None] * horizontal[None, :]).to(output.dtype)
            for target in (index - 1, index, index + 1):
                if not 0 <= target < len(rows):
                    continue
                strip_top, strip_bottom = rows[target][0].top, rows[target][0].bottom
                low, high = max(top, strip_top), min(bottom, strip_bottom)
                if low >= high or not weight[low - top : high - top].any():
                    continue
                if target not in strips:
                    lines = strip_bottom - strip_top
                    strips[target] = (
                        output.new_zeros((*output.shape[:2], lines * scale, width * scale)),
                        output.new_zeros((lines, width)),
                    )
                total, weights = strips[target]
                part = weight[low - top : high - top]
                weights[low - strip_top : high - strip_top, left:right] += part
                blocks = part.repeat_interleave(scale, 0).repeat_interleave(scale, 1)
                window_part = output[..., (low - top) * scale : (high - top) * scale, :]
                total[..., (low - strip_top) * scale : (high - strip_top) * scale, left * scale : right * scale] += (
                    window_part * blocks
                )
        finished = [done for done in strips if done < index or index == len(rows) - 1]
        for done in sorted(finished):
            total, weights = strips.pop(done)
            total /= weights.repeat_interleave(scale, 0).repeat_interleave(scale, 1)
            for region in rows[done]:
                yield region, total[..., region.left * scale : region.right * scale]


def available_memory(device: torch.device) -> int | None:
    """Free bytes on ``device``: CUDA's own count, ``MemAvailable`` on Linux, else None (unknown).

    Example:
        >>> free = available_memory(torch.device("cpu"))
        >>> free is None or free > 0
        True
    """
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def auto_tile(device: torch.device, num_feat: int, scale: int) -> int:
    """A tile side (LR pixels) whose activations fit the free memory of ``device``.

    The largest power of two whose activations (≈ 4 feature maps of ``num_feat`` float32
    plus twice the ×s RGB output) take at most a quarter of the free memory. On CPU it is
    also capped at 256, past which tiles are no faster and only cost memory; where free
    memory is unknown, 256.

    Example:
        >>> auto_tile(torch.device("cpu"), num_feat=64, scale=4) in (16, 32, 64, 128, 256)
        True
    """
    free = available_memory(device)
    cap = 4096 if device.type == "cuda" else DEFAULT_CPU_TILE
    if free is None:
        return DEFAULT_CPU_TILE
    bytes_per_pixel = 4 * (4 * num_feat + 2 * 3 * scale * scale)
    side = MIN_TILE
    while 2 * side <= cap and (2 * side) ** 2 * bytes_per_pixel <= free / 4:
        side *= 2
    return side
