"""RRDBNet (ESRGAN, Real-ESRGAN): residual-in-residual dense blocks, nearest ×2 ×2 upsampling.

State-dict layout as upstream (BasicSR ``rrdbnet_arch.py``), so ESRGAN/Real-ESRGAN
checkpoints in that layout load with ``strict=True``::

    conv_first                                  Conv2d(in_ch · (4/s)², num_feat, 3)
    body.i.rdb{1,2,3}.conv{1..5}                dense block convolutions
    conv_body, conv_up1, conv_up2, conv_hr, conv_last

×2 models see a pixel-unshuffled input (4× the channels at half size), as upstream.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn


class ResidualDenseBlock(nn.Module):
    def __init__(self, num_feat: int, num_grow_ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            features.append(F.leaky_relu(conv(torch.cat(features, 1)), 0.2))
        return x + 0.2 * self.conv5(torch.cat(features, 1))


class RRDB(nn.Module):
    def __init__(self, num_feat: int, num_grow_ch: int) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.rdb3(self.rdb2(self.rdb1(x)))


class RRDBNet(nn.Module):
    """``(N, C, h, w)`` in [0, 1] → ``(N, C, s·h, s·w)``, unclamped; s ∈ {2, 4}."""

    def __init__(
        self, in_ch: int = 3, num_feat: int = 64, num_block: int = 23, num_grow_ch: int = 32, scale: int = 4
    ) -> None:
        super().__init__()
        if scale not in (2, 4):
            raise ValueError(f"RRDBNet upscales ×2 or ×4, not ×{scale}")
        self.in_ch, self.num_feat, self.num_block, self.num_grow_ch, self.scale = (
            in_ch,
            num_feat,
            num_block,
            num_grow_ch,
            scale,
        )
        unshuffle = 4 // scale
        self.conv_first = nn.Conv2d(in_ch * unshuffle * unshuffle, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, in_ch, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = F.pixel_unshuffle(x, 2) if self.scale == 2 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = F.leaky_relu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        feat = F.leaky_relu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))

    @property
    def input_multiple(self) -> int:
        """Input sides must be multiples of this (the ×2 model pixel-unshuffles by 2)."""
        return 4 // self.scale

    @property
    def config(self) -> dict[str, int]:
        return {
            "in_ch": self.in_ch,
            "num_feat": self.num_feat,
            "num_block": self.num_block,
            "num_grow_ch": self.num_grow_ch,
            "scale": self.scale,
        }


def is_rrdbnet(state_dict: Mapping[str, torch.Tensor]) -> bool:
    return {"conv_first.weight", "body.0.rdb1.conv1.weight", "conv_up1.weight"} <= state_dict.keys()


def rrdbnet_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> RRDBNet:
    """Build an RRDBNet whose hyperparameters (and scale, from the unshuffled input) come from shapes."""
    num_feat, first_in = state_dict["conv_first.weight"].shape[:2]
    in_ch = state_dict["conv_last.weight"].shape[0]
    scale = {1: 4, 4: 2}.get(first_in // in_ch)
    if scale is None or first_in % in_ch:
        raise ValueError(f"conv_first takes {first_in} channels for {in_ch} colours: not a ×2 or ×4 RRDBNet")
    num_grow_ch = state_dict["body.0.rdb1.conv1.weight"].shape[0]
    num_block = len({key.split(".")[1] for key in state_dict if key.startswith("body.")})
    return RRDBNet(in_ch, num_feat, num_block, num_grow_ch, scale)
