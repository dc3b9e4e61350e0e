"""An SR estimate of one integer scale brought to another (×8 → ×5): where no model has the asked scale,
a larger one's estimate is resampled to the asked size before the projection at that scale.

Both sizes are whole multiples of the LR grid, ``E·h`` → ``T·h``, so each LR pixel's ``E×E`` block becomes
its ``T×T`` block. ``area`` averages the exact fractional footprint of every output pixel inside that
block: it is local to the LR pixel, so it tiles without seams, and the box mean of each ``T×T`` block is
the box mean of the ``E×E`` one (an estimate consistent at ×E stays consistent at ×T). ``bicubic`` is
PyTorch's antialiased bicubic (Pillow's filter), which reaches across LR pixel borders.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

RESAMPLES = ("area", "bicubic")


@functools.lru_cache(maxsize=32)
def area_block(source: int, target: int) -> torch.Tensor:
    """``(target, source)`` float64: output pixel ``j`` of ``target`` is the mean of the source pixels over
    ``[j·r, (j+1)·r)``, ``r = source / target``, weighted by their overlap. Rows sum to 1.

    Example:
        >>> [round(v, 12) for v in area_block(8, 5)[0].tolist()]
        [0.625, 0.375, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        >>> bool(torch.allclose(area_block(8, 5).sum(0), torch.full((8,), 5 / 8, dtype=torch.float64)))
        True
    """
    edges = torch.arange(target + 1, dtype=torch.float64) * source / target
    pixels = torch.arange(source + 1, dtype=torch.float64)
    low = torch.maximum(edges[:-1, None], pixels[None, :-1])
    high = torch.minimum(edges[1:, None], pixels[None, 1:])
    return (high - low).clamp_min(0) * target / source


def resample(x: torch.Tensor, source: int, target: int, method: str) -> torch.Tensor:
    """``(N, C, source·h, source·w)`` → ``(N, C, target·h, target·w)``, same dtype, by ``method``
    (:data:`RESAMPLES`).

    Example:
        >>> x = torch.rand(1, 3, 16, 24, dtype=torch.float64)
        >>> y = resample(x, 8, 5, "area")
        >>> y.shape, bool(torch.allclose(F.avg_pool2d(y, 5), F.avg_pool2d(x, 8)))
        (torch.Size([1, 3, 10, 15]), True)
    """
    if method not in RESAMPLES:
        raise ValueError(f"resample must be one of {', '.join(RESAMPLES)}, got {method!r}")
    n, c, height, width = x.shape
    if height % source or width % source:
        raise ValueError(f"size {height}×{width} is not a multiple of the source scale {source}")
    h, w = height // source, width // source
    if source == target:
        return x
    if method == "bicubic":
        return F.interpolate(x, size=(h * target, w * target), mode="bicubic", antialias=True, align_corners=False)
    block = area_block(source, target).to(x)
    blocks = x.reshape(n, c, h, source, w, source)
    out = torch.einsum("ae,nchewf,bf->nchawb", block, blocks, block)
    return out.reshape(n, c, h * target, w * target)
