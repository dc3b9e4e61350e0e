"""The s×s box downsample, the degradation PD assumes by default: in float64, and in integers rounded half up.

Pillow's ``Image.reduce`` gives the same integers at ×2, ×4, ×8 and ×16, and for every block whose mean is an
integer (an exact output's blocks) at any scale. Elsewhere it divides with a truncated fixed-point reciprocal
(``((sum + n//2) · ⌊2³² / 256n⌋) >> 24``, Reduce.c) and returns a level less for some means just above .5 (at ×3,
about 1 value in 9 of random 8-bit blocks)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def box_float(channels: torch.Tensor, scale: int) -> torch.Tensor:
    """s×s box means in float64: ``(C, s·h, s·w)`` → ``(C, h, w)``."""
    return F.avg_pool2d(channels.to(torch.float64).unsqueeze(0), scale).squeeze(0)


def box_rounded(channels: torch.Tensor, scale: int) -> torch.Tensor:
    """s×s box means rounded half up, in integers (``Image.reduce``'s result at power-of-two scales): int32
    ``(C, h, w)``."""
    n = scale * scale
    sums = (F.avg_pool2d(channels.to(torch.float64).unsqueeze(0), scale, divisor_override=1)).squeeze(0)
    return torch.div(sums.to(torch.int64) + n // 2, n, rounding_mode="floor").to(torch.int32)
