"""CSNet: block compressed-sensing reconstruction, a linear initial estimate and a refiner.

Two stages, as in ReconNet / CSNet:

1. ``initial``: one linear map per block, measurements ``(M,)`` → pixels ``(block²,)``. srcli
   starts it at the linear minimum-mean-square-error estimate of its training data
   (:func:`srcli.train.cs.lmmse_initial`), which alone is some 16 dB better than ``Aᵀy``.
2. A residual refiner on the whole image, at half resolution (pixel unshuffle → convolutions
   → pixel shuffle), which removes block seams and restores detail at a quarter of the cost
   of a full-resolution body.

State-dict layout::

    initial         Linear(M, block²)
    body.0          Conv2d(4·in_ch, num_feat, 3), body.1 PReLU(num_feat)
    body.2k, 2k+1   Conv2d(num_feat, num_feat, 3), PReLU(num_feat)    k = 1..num_conv
    body.last       Conv2d(num_feat, 4·in_ch, 3)
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn


class CSNet(nn.Module):
    """Measurements ``(N, C·M, h, w)`` (``C`` = 1 or 3) → image ``(N, C, block·h, block·w)``, unclamped.

    Images are in [0, 1]; a gray image goes through the colour refiner as R = G = B and comes
    back as the mean of the three.
    """

    input_multiple = 1

    def __init__(self, m: int, block: int = 32, in_ch: int = 3, num_feat: int = 32, num_conv: int = 8) -> None:
        super().__init__()
        self.m, self.block, self.in_ch = m, block, in_ch
        self.num_feat, self.num_conv = num_feat, num_conv
        self.initial = nn.Linear(m, block * block)
        layers: list[nn.Module] = [nn.Conv2d(4 * in_ch, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        layers.append(nn.Conv2d(num_feat, 4 * in_ch, 3, 1, 1))
        self.body = nn.ModuleList(layers)

    def initial_estimate(self, y: torch.Tensor) -> torch.Tensor:
        """The linear stage alone: ``(N, C·M, h, w)`` → ``(N, C, block·h, block·w)``."""
        n, cm, h, w = y.shape
        c, b = cm // self.m, self.block
        blocks = self.initial(y.reshape(n, c, self.m, h, w).permute(0, 1, 3, 4, 2))  # (N, C, h, w, b²)
        return blocks.reshape(n, c, h, w, b, b).permute(0, 1, 2, 4, 3, 5).reshape(n, c, h * b, w * b)

    def refine(self, x: torch.Tensor) -> torch.Tensor:
        """The residual refiner: ``(N, in_ch, H, W)`` → same shape; H and W even."""
        out = F.pixel_unshuffle(x, 2)
        for layer in self.body:
            out = layer(out)
        return x + F.pixel_shuffle(out, 2)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        x0 = self.initial_estimate(y)
        if x0.shape[1] == self.in_ch:
            return self.refine(x0)
        if x0.shape[1] == 1:
            return self.refine(x0.expand(-1, self.in_ch, -1, -1)).mean(1, keepdim=True)
        raise ValueError(f"CSNet takes 1 or {self.in_ch} channels of {self.m} measurements, got {y.shape[1]} values")

    @property
    def config(self) -> dict[str, int]:
        return {
            "m": self.m,
            "block": self.block,
            "in_ch": self.in_ch,
            "num_feat": self.num_feat,
            "num_conv": self.num_conv,
        }


def is_csnet(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """True for a state dict in the CSNet layout."""
    return "initial.weight" in state_dict and "body.0.weight" in state_dict


def csnet_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> CSNet:
    """Build a CSNet whose hyperparameters are read off the tensor shapes."""
    pixels, m = state_dict["initial.weight"].shape
    block = round(pixels**0.5)
    if block * block != pixels:
        raise ValueError(f"initial stage makes {pixels} pixels per block: not a square")
    conv_count = sum(1 for key, t in state_dict.items() if key.startswith("body.") and t.ndim == 4)
    num_feat, in_ch4 = state_dict["body.0.weight"].shape[:2]
    return CSNet(m, block, in_ch4 // 4, num_feat, conv_count - 2)
