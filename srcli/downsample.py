"""Downsamplers for ``degrade`` and ``check``: box (the PD operator) and Pillow's filters.

Each gives both the float result (for the float64 consistency PSNR, no rounding) and the
result rounded the way an image file stores it (for byte-exact comparison).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from srcli.imageio import tensor_to_pil

PILLOW_FILTERS = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "lanczos": Image.Resampling.LANCZOS,
}
DOWNSAMPLERS = ("box", *PILLOW_FILTERS)


def box_float(channels: torch.Tensor, scale: int) -> torch.Tensor:
    """s×s box means in float64: ``(C, s·h, s·w)`` → ``(C, h, w)``."""
    return F.avg_pool2d(channels.to(torch.float64).unsqueeze(0), scale).squeeze(0)


def box_rounded(channels: torch.Tensor, scale: int) -> torch.Tensor:
    """s×s box means rounded half up, in integers, as ``Image.reduce`` does: int32 ``(C, h, w)``."""
    n = scale * scale
    sums = (F.avg_pool2d(channels.to(torch.float64).unsqueeze(0), scale, divisor_override=1)).squeeze(0)
    return torch.div(sums.to(torch.int64) + n // 2, n, rounding_mode="floor").to(torch.int32)


def _pillow_channel_float(channel: torch.Tensor, size: tuple[int, int], method: str) -> torch.Tensor:
    image = Image.fromarray(channel.numpy().astype(np.float32), mode="F")
    resized = image.resize(size, PILLOW_FILTERS[method])
    return torch.from_numpy(np.asarray(resized, dtype=np.float64).copy())


def pillow_float(channels: torch.Tensor, size: tuple[int, int], method: str) -> torch.Tensor:
    """Pillow's ``method`` resize of each channel in float32 (no rounding): ``(C, H', W')`` float64."""
    return torch.stack([_pillow_channel_float(c, size, method) for c in channels])


def pillow_rounded(channels: torch.Tensor, size: tuple[int, int], method: str, bit_depth: int) -> torch.Tensor:
    """Pillow's ``method`` resize as an image file would hold it: int32 ``(C, H', W')``.

    8-bit images go through Pillow's own 8-bit resize (what any editor that uses Pillow makes);
    16-bit ones through the float resize, rounded half up and clipped.
    """
    if bit_depth == 8 and channels.shape[0] in (1, 3, 4):
        resized = tensor_to_pil(channels).resize(size, PILLOW_FILTERS[method])
        data = torch.frombuffer(bytearray(resized.tobytes()), dtype=torch.uint8)
        return data.view(size[1], size[0], channels.shape[0]).permute(2, 0, 1).to(torch.int32)
    rounded = torch.floor(pillow_float(channels, size, method) + 0.5)
    return rounded.clamp(0, (1 << bit_depth) - 1).to(torch.int32)


def downsample_float(channels: torch.Tensor, scale: int, method: str) -> torch.Tensor:
    """``(C, s·h, s·w)`` → float64 ``(C, h, w)`` by ``method``."""
    if method == "box":
        return box_float(channels, scale)
    h, w = channels.shape[1] // scale, channels.shape[2] // scale
    return pillow_float(channels, (w, h), method)


def downsample_rounded(channels: torch.Tensor, scale: int, method: str, bit_depth: int) -> torch.Tensor:
    """``(C, s·h, s·w)`` → int32 ``(C, h, w)`` by ``method``, rounded as a file stores it."""
    if method == "box":
        return box_rounded(channels, scale)
    h, w = channels.shape[1] // scale, channels.shape[2] // scale
    return pillow_rounded(channels, (w, h), method, bit_depth)
