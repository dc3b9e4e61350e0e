"""SRResNet without batch norm (BasicSR's ``MSRResNet``): residual blocks, pixel shuffle, bilinear skip.

State-dict layout as upstream, so its checkpoints load with ``strict=True``::

    conv_first                      Conv2d(in_ch, num_feat, 3)
    body.i.conv1, body.i.conv2      residual block i (ReLU between, no BN)
    upconv1 [, upconv2]             Conv2d → PixelShuffle (×2, ×3 in one; ×4 as two ×2)
    conv_hr, conv_last              Conv2d(num_feat, num_feat, 3), Conv2d(num_feat, out_ch, 3)
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlockNoBN(nn.Module):
    def __init__(self, num_feat: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class SRResNet(nn.Module):
    """``(N, C, h, w)`` in [0, 1] → ``(N, C, s·h, s·w)``, unclamped; s ∈ {2, 3, 4}."""

    input_multiple = 1

    def __init__(self, in_ch: int = 3, num_feat: int = 64, num_block: int = 16, scale: int = 4) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"SRResNet upscales ×2, ×3 or ×4, not ×{scale}")
        self.in_ch, self.num_feat, self.num_block, self.scale = in_ch, num_feat, num_block, scale
        self.conv_first = nn.Conv2d(in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(ResidualBlockNoBN(num_feat) for _ in range(num_block)))
        step = 2 if scale == 4 else scale
        self.upconv1 = nn.Conv2d(num_feat, num_feat * step * step, 3, 1, 1)
        self.upconv2 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1) if scale == 4 else None
        self.pixel_shuffle = nn.PixelShuffle(step)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, in_ch, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(F.leaky_relu(self.conv_first(x), 0.1))
        out = F.leaky_relu(self.pixel_shuffle(self.upconv1(out)), 0.1)
        if self.upconv2 is not None:
            out = F.leaky_relu(self.pixel_shuffle(self.upconv2(out)), 0.1)
        out = self.conv_last(F.leaky_relu(self.conv_hr(out), 0.1))
        return out + F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)

    @property
    def config(self) -> dict[str, int]:
        return {"in_ch": self.in_ch, "num_feat": self.num_feat, "num_block": self.num_block, "scale": self.scale}


def is_srresnet(state_dict: Mapping[str, torch.Tensor]) -> bool:
    return {"conv_first.weight", "body.0.conv1.weight", "upconv1.weight", "conv_hr.weight"} <= state_dict.keys()


def srresnet_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> SRResNet:
    """Build an SRResNet whose hyperparameters are read off the tensor shapes."""
    num_feat, in_ch = state_dict["conv_first.weight"].shape[:2]
    num_block = len({key.split(".")[1] for key in state_dict if key.startswith("body.")})
    scale = 4 if "upconv2.weight" in state_dict else round((state_dict["upconv1.weight"].shape[0] / num_feat) ** 0.5)
    return SRResNet(in_ch, num_feat, num_block, scale)
