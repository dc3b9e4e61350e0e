"""A U-Net discriminator with spectral normalisation, as Real-ESRGAN's ``UNetDiscriminatorSN``.

Facts from Real-ESRGAN (Wang et al. 2021, §3.3 and its ``discriminator_arch.py``): a U-Net gives a
realness logit per pixel rather than one per image, so the generator is told where an output looks
wrong; spectral norm on every inner convolution keeps the stronger discriminator's training stable.
Layout (``F`` = ``num_feat``; leaky ReLU 0.2 after every convolution but the last)::

    conv0  3×3  C → F                        full resolution
    conv1  4×4 stride 2, F → 2F     (SN)     1/2
    conv2  4×4 stride 2, 2F → 4F    (SN)     1/4
    conv3  4×4 stride 2, 4F → 8F    (SN)     1/8
    conv4  3×3 8F → 4F (SN) after ×2 bilinear, + conv2's output
    conv5  3×3 4F → 2F (SN) after ×2 bilinear, + conv1's output
    conv6  3×3 2F → F  (SN) after ×2 bilinear, + conv0's output
    conv7, conv8  3×3 F → F (SN);  conv9  3×3 F → 1

Inputs need sides that are multiples of 8. Written here from those facts; parameter names follow
upstream's (``convN.parametrizations.weight.*`` are torch's spectral-norm parametrisation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

SLOPE = 0.2


def act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, SLOPE)


def up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class UNetDiscriminatorSN(nn.Module):
    """``(N, C, H, W)`` image in [0, 1] → ``(N, 1, H, W)`` realness logits (``H``, ``W`` multiples of 8)."""

    def __init__(self, in_ch: int = 3, num_feat: int = 64) -> None:
        super().__init__()
        f = num_feat
        self.num_feat = num_feat
        self.conv0 = nn.Conv2d(in_ch, f, 3, 1, 1)
        self.conv1 = spectral_norm(nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False))
        self.conv2 = spectral_norm(nn.Conv2d(2 * f, 4 * f, 4, 2, 1, bias=False))
        self.conv3 = spectral_norm(nn.Conv2d(4 * f, 8 * f, 4, 2, 1, bias=False))
        self.conv4 = spectral_norm(nn.Conv2d(8 * f, 4 * f, 3, 1, 1, bias=False))
        self.conv5 = spectral_norm(nn.Conv2d(4 * f, 2 * f, 3, 1, 1, bias=False))
        self.conv6 = spectral_norm(nn.Conv2d(2 * f, f, 3, 1, 1, bias=False))
        self.conv7 = spectral_norm(nn.Conv2d(f, f, 3, 1, 1, bias=False))
        self.conv8 = spectral_norm(nn.Conv2d(f, f, 3, 1, 1, bias=False))
        self.conv9 = nn.Conv2d(f, 1, 3, 1, 1)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The logits and the activations of conv0–conv8 (for feature matching), in that order."""
        x0 = act(self.conv0(x))
        x1 = act(self.conv1(x0))
        x2 = act(self.conv2(x1))
        x3 = act(self.conv3(x2))
        x4 = act(self.conv4(up(x3))) + x2
        x5 = act(self.conv5(up(x4))) + x1
        x6 = act(self.conv6(up(x5))) + x0
        x7 = act(self.conv7(x6))
        x8 = act(self.conv8(x7))
        return self.conv9(x8), [x0, x1, x2, x3, x4, x5, x6, x7, x8]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[0]
