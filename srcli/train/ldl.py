"""LDL's artefact loss (Liang et al., CVPR 2022, "Details or Artifacts"): an L1 to the photo, weighted by a map
of where the generator's texture is likelier an artefact than a detail.

Where the residual ``r = Σ_c |HR − SR|`` is locally erratic (its variance over 7×7 windows) the output is
likelier wrong texture than a missed detail; the weight of a whole patch grows with the spread of its residual
(``var(r)^⅕``); and only where the weight average of the generator (its EMA, steadier than the current weights,
so a stable reference for texture) is closer to the photo than the current output does the map keep it::

    M = var(r)^⅕ · var₇ₓ₇(r)     where  Σ_c |HR − SR| ≥ Σ_c |HR − SR_EMA|,   0 elsewhere
    L_LDL = mean |M ⊙ SR − M ⊙ HR|

As LDL's code: 7×7 windows on the residual reflect-padded, unbiased variances, and gradients through ``M`` too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from srcli.maths.metrics import local_variance

WINDOW = 7


def artefact_map(hr: torch.Tensor, sr: torch.Tensor, ema: torch.Tensor, window: int = WINDOW) -> torch.Tensor:
    """LDL's refined artefact map ``M`` of ``(N, C, H, W)`` photos, outputs and EMA outputs (any equal range):
    ``(N, 1, H, W)``, 0 where the EMA output is further from the photo than ``sr``, ≥ 0 elsewhere.

    Example:
        >>> hr = torch.zeros(1, 3, 8, 8)
        >>> sr = hr + 0.1 * (torch.arange(8) % 2)  # stripes: an erratic residual
        >>> worse, better = sr + 0.1, hr  # EMA outputs further from the photo everywhere, and on it
        >>> bool((artefact_map(hr, sr, worse) == 0).all()), bool((artefact_map(hr, sr, better) > 0).all())
        (True, True)
    """
    residual = (hr - sr).abs().sum(dim=1, keepdim=True)
    reference = (hr - ema).abs().sum(dim=1, keepdim=True)
    patch = residual.var(dim=(1, 2, 3), keepdim=True) ** 0.2
    pad = window // 2
    count = window * window
    pixel = local_variance(F.pad(residual, (pad, pad, pad, pad), mode="reflect"), window) * (count / (count - 1))
    return torch.where(residual < reference, torch.zeros_like(pixel), patch * pixel)


def ldl_loss(hr: torch.Tensor, sr: torch.Tensor, ema: torch.Tensor) -> torch.Tensor:
    """``mean |M ⊙ SR − M ⊙ HR|`` with ``M`` the :func:`artefact_map` of ``(N, C, H, W)`` tensors; a scalar."""
    weight = artefact_map(hr, sr, ema)
    return F.l1_loss(weight * sr, weight * hr)
