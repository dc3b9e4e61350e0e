"""Tiled inference in LR pixels: each tile sees ``overlap`` pixels of context on every side
and contributes only its core, so tile borders fall on LR pixel borders.

Each output pixel comes from exactly one tile, which is why no blend buffer as large as the
output is needed: with an overlap at least the network's receptive radius, the core of a tile
is what the whole image would give (up to float summation order), so there is nothing left to
blend. PD and exact quantisation are local to LR blocks, so they run per tile core and tiling
can never break consistency.
"""

from __future__ import annotations

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
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, overlap: int, scale: int
) -> Iterator[tuple[Tile, torch.Tensor]]:
    """Yield ``(tile, core output)`` for every tile of ``x`` ``(N, C, H, W)``.

    ``fn`` maps ``(N, C, h, w)`` → ``(N, C', s·h, s·w)``; the core output is
    ``(N, C', s·(bottom − top), s·(right − left))``.

    Example:
        >>> x = torch.rand(1, 3, 6, 6)
        >>> up = lambda w: w.repeat_interleave(2, -1).repeat_interleave(2, -2)
        >>> [tuple(core.shape) for _, core in tile_apply(up, x, tile=4, overlap=1, scale=2)]
        [(1, 3, 8, 8), (1, 3, 8, 4), (1, 3, 4, 8), (1, 3, 4, 4)]
    """
    for region in plan_tiles(x.shape[-2], x.shape[-1], tile, overlap):
        yield region, region.core(fn(region.window(x)), scale)


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
