"""The s×s box downsample, the degradation PD assumes by default: in float64, and in integers as ``Image.reduce``
rounds (half up)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def box_float(channels: torch.Tensor, scale: int) -> torch.Tensor:
    """s×s box means in float64: ``(C, s·h, s·w)`` → ``(C, h, w)``."""
    return F.avg_pool2d(channels.to(torch.float64).unsqueeze(0), scale).squeeze(0)


def box_rounded(channels: torch.Tensor, scale: int) -> torch.Tensor:
    """s×s box means rounded half up, in integers, as ``Image.reduce`` does: int32 ``(C, h, w)``."""
    n = scale * scale
    sums = (F.avg_pool2d(channels.to(torch.float64).unsqueeze(0), scale, divisor_override=1)).squeeze(0)
    return torch.div(sums.to(torch.int64) + n // 2, n, rounding_mode="floor").to(torch.int32)
