"""Pillow's resize of tensors: in float (no rounding) and as an image file would hold it (8-bit fixed point)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from srcli.io.images import tensor_to_pil

PILLOW_FILTERS = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "lanczos": Image.Resampling.LANCZOS,
}


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
