"""Where the photo has texture: a per-pixel weight that lets the discriminator teach there and not on flat areas.

The adversarial loss pushes texture onto every pixel the discriminator finds too smooth, flat walls and sky included
(issue 40: scratches and mottle where the photo is flat). Scaling what the discriminator's terms teach each output
pixel by the photo's own local texture there leaves its flat areas to the L1, and keeps the push where the photo
has detail to recover::

    s = 5×5 local standard deviation of the photo's full-range luma, in levels of 255 (reflect padded)
    g = s² / (s² + L²)        about 0 where the photo is flat (s ≪ L), about 1 where it has texture (s ≫ L)

``L`` is the option's level (3 is :data:`srcli.maths.metrics.FLAT_LEVELS`, the false-texture measure's flat).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from srcli.maths.metrics import FLAT_WINDOW, full_range_luma, local_variance


def texture_gate(photo: torch.Tensor, levels: float) -> torch.Tensor:
    """``(N, 1, H, W)`` weights in [0, 1) of ``(N, 3, H, W)`` RGB photos in [0, 1]: ``s² / (s² + levels²)``.

    Example:
        >>> flat = torch.full((1, 3, 8, 8), 0.5)
        >>> stripes = flat + 0.2 * (torch.arange(8) % 2)  # 51 levels between columns: s ≈ 25 levels
        >>> float(texture_gate(flat, 3.0).max()), round(float(texture_gate(stripes, 3.0).min()), 2)
        (0.0, 0.99)
    """
    luma = full_range_luma(photo)
    pad = FLAT_WINDOW // 2
    variance = local_variance(F.pad(luma, (pad, pad, pad, pad), mode="reflect"), FLAT_WINDOW)
    return (variance / (variance + levels * levels)).to(photo.dtype)
