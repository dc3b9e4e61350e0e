"""ColorNet: gray → colour by classifying chroma at quarter resolution (after Zhang et al. 2016).

Chroma is the part of RGB orthogonal to gray: ``rgb = g·(1, 1, 1) + a·c₁ + b·c₂`` with
``c₁ = (1, −1, 0)/√2`` and ``c₂ = (1, 1, −2)/√6``, so a prediction never touches the
channel mean, which PD then sets exactly. The network sees the gray image at 1/4 resolution
(pixel unshuffle), scores ``K`` chroma bins per quarter-resolution pixel, and decodes them
with the annealed mean (softmax at ``temperature``: 1 is the plain mean, which is dull,
smaller values are more colourful), scaled by ``saturation`` (below 1 pulls uncertain colour
toward gray, which the PSNR against the original rewards). Chroma is smooth, so bilinear
upsampling loses little.

State-dict layout::

    bins            (K, 2) chroma bin centres (a, b), buffer
    temperature     () annealed-mean temperature, buffer
    saturation      () chroma scale, buffer
    body.0          Conv2d(16, num_feat, 3), body.1 PReLU(num_feat)
    body.2k, 2k+1   Conv2d(num_feat, num_feat, 3), PReLU(num_feat)    k = 1..num_conv
    body.last       Conv2d(num_feat, K, 3)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

DOWN = 4
CHROMA_BASIS = torch.tensor([[1.0, -1.0, 0.0], [1.0, 1.0, -2.0]]) / torch.tensor([[math.sqrt(2)], [math.sqrt(6)]])
"""``(2, 3)``: rows ``c₁``, ``c₂``, orthonormal and orthogonal to (1, 1, 1)."""


def chroma_of(rgb: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` → ``(N, 2, H, W)`` chroma ``(a, b)``."""
    return torch.einsum("kc,nchw->nkhw", CHROMA_BASIS.to(rgb), rgb)


def rgb_from(gray: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """Gray ``(N, 1, H, W)`` and chroma ``(N, 2, H, W)`` → RGB ``(N, 3, H, W)`` with channel mean ``gray``."""
    return gray + torch.einsum("kc,nkhw->nchw", CHROMA_BASIS.to(chroma), chroma)


def chroma_grid(step: float = 0.08, a_range: float = 0.40, b_low: float = -0.48, b_high: float = 0.32) -> torch.Tensor:
    """Bin centres ``(K, 2)`` on a regular grid over the chroma of natural images ([0, 1] units)."""
    a = torch.arange(-a_range, a_range + 1e-6, step)
    b = torch.arange(b_low, b_high + 1e-6, step)
    return torch.cartesian_prod(a, b)


def decode_chroma(
    logits: torch.Tensor, bins: torch.Tensor, temperature: torch.Tensor, saturation: torch.Tensor
) -> torch.Tensor:
    """Bin scores ``(N, K, h, w)`` at quarter resolution → chroma ``(N, 2, 4h, 4w)``: the annealed mean
    (softmax of ``logits / temperature`` over the ``(K, 2)`` bins) times ``saturation``, upsampled bilinearly."""
    weights = torch.softmax(logits / temperature, dim=1)
    coarse = torch.einsum("nkhw,kc->nchw", weights, bins.to(weights)) * saturation
    return F.interpolate(coarse, scale_factor=DOWN, mode="bilinear", align_corners=False)


class ChromaClassifier(nn.Module):
    """What the chroma-bin colorizers share: the bins and decoding settings (buffers, so a checkpoint carries
    them), the annealed-mean decoding and the config. A subclass gives :meth:`logits`."""

    bins: torch.Tensor
    temperature: torch.Tensor
    saturation: torch.Tensor

    def __init__(
        self, num_feat: int, num_conv: int, bins: torch.Tensor | None, temperature: float, saturation: float
    ) -> None:
        super().__init__()
        self.num_feat, self.num_conv = num_feat, num_conv
        self.register_buffer("bins", chroma_grid() if bins is None else bins.clone())
        self.register_buffer("temperature", torch.tensor(float(temperature)))
        self.register_buffer("saturation", torch.tensor(float(saturation)))

    def logits(self, gray: torch.Tensor) -> torch.Tensor:
        """Bin scores ``(N, K, H/4, W/4)`` of gray ``(N, 1, H, W)``."""
        raise NotImplementedError

    def chroma(self, gray: torch.Tensor) -> torch.Tensor:
        """Annealed-mean chroma ``(N, 2, H, W)``, upsampled bilinearly from quarter resolution."""
        return decode_chroma(self.logits(gray), self.bins, self.temperature, self.saturation)

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        return rgb_from(gray, self.chroma(gray))

    @property
    def config(self) -> dict[str, float]:
        return {
            "num_feat": self.num_feat,
            "num_conv": self.num_conv,
            "temperature": float(self.temperature),
            "saturation": float(self.saturation),
        }


class ColorNet(ChromaClassifier):
    """Gray ``(N, 1, H, W)`` in [0, 1] (H, W multiples of 4) → RGB ``(N, 3, H, W)``, unclamped."""

    def __init__(
        self,
        num_feat: int = 32,
        num_conv: int = 8,
        bins: torch.Tensor | None = None,
        temperature: float = 0.4,
        saturation: float = 1.0,
    ) -> None:
        super().__init__(num_feat, num_conv, bins, temperature, saturation)
        layers: list[nn.Module] = [nn.Conv2d(DOWN * DOWN, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        layers.append(nn.Conv2d(num_feat, self.bins.shape[0], 3, 1, 1))
        self.body = nn.ModuleList(layers)

    input_multiple = DOWN

    def logits(self, gray: torch.Tensor) -> torch.Tensor:
        """Bin scores ``(N, K, H/4, W/4)``."""
        out = F.pixel_unshuffle(gray, DOWN) - 0.5
        for layer in self.body:
            out = layer(out)
        return out


def is_colornet(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """True for a state dict in the ColorNet layout."""
    return {"bins", "temperature", "saturation", "body.0.weight"} <= set(state_dict)


def colornet_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> ColorNet:
    """Build a ColorNet whose hyperparameters are read off the tensors."""
    conv_count = sum(1 for key, t in state_dict.items() if key.startswith("body.") and t.ndim == 4)
    num_feat = state_dict["body.0.weight"].shape[0]
    return ColorNet(
        num_feat, conv_count - 2, state_dict["bins"], float(state_dict["temperature"]), float(state_dict["saturation"])
    )
