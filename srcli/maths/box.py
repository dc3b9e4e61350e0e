"""The s×s box downsample, the degradation PD assumes by default: in float64, and in integers rounded half up.

Pillow's ``Image.reduce`` gives the same integers at ×2, ×4, ×8 and ×16, and for every block whose mean is an
integer (an exact output's blocks) at any scale. Elsewhere it divides with a truncated fixed-point reciprocal
(``((sum + n//2) · ⌊2³² / 256n⌋) >> 24``, Reduce.c) and returns a level less for some means just above .5 (at ×3,
about 1 value in 9 of random 8-bit blocks)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

STRIP_ROWS = 256
"""LR rows whose box sums :func:`box_sums` makes at a time: a float32 copy of that strip at most (12 MB for 2048
columns ×4 of RGB), not of the whole image."""


def box_sums(channels: torch.Tensor, scale: int) -> torch.Tensor:
    """s×s block sums of integer ``(C, s·h, s·w)`` (8- or 16-bit values): ``(C, h, w)`` float32 holding the exact
    integers (a block of 16-bit values sums to under 2²⁴ up to ×16), made a strip of :data:`STRIP_ROWS` LR rows at a
    time; 3–4× as fast as summing in int64 or float64 over the whole image."""
    c, height, width = channels.shape
    sums = torch.empty((c, height // scale, width // scale), dtype=torch.float32, device=channels.device)
    step = STRIP_ROWS * scale
    for top in range(0, height, step):
        strip = channels[:, top : top + step].to(torch.float32).unsqueeze(0)
        sums[:, top // scale : (top + step) // scale] = F.avg_pool2d(strip, scale, divisor_override=1)[0]
    return sums


def box_float(channels: torch.Tensor, scale: int) -> torch.Tensor:
    """s×s box means in float64: ``(C, s·h, s·w)`` → ``(C, h, w)`` (of integer channels, the exact sums divided
    once)."""
    if channels.is_floating_point():
        return F.avg_pool2d(channels.to(torch.float64).unsqueeze(0), scale).squeeze(0)
    return float_means(box_sums(channels, scale), scale)


def box_rounded(channels: torch.Tensor, scale: int) -> torch.Tensor:
    """s×s box means of integer channels rounded half up, in integers (``Image.reduce``'s result at power-of-two
    scales): int32 ``(C, h, w)``."""
    return rounded_means(box_sums(channels, scale), scale)


def float_means(sums: torch.Tensor, scale: int) -> torch.Tensor:
    """Block sums (:func:`box_sums`) → their means in float64."""
    return sums.to(torch.float64) / (scale * scale)


def rounded_means(sums: torch.Tensor, scale: int) -> torch.Tensor:
    """Block sums (:func:`box_sums`) → their means rounded half up, int32."""
    n = scale * scale
    return torch.div(sums.to(torch.int64) + n // 2, n, rounding_mode="floor").to(torch.int32)
