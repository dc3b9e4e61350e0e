"""ColorUNet: ColorNet's chroma classification seen through a small U-Net with global context.

ColorNet's convolutions at quarter resolution see about 40 pixels around each one, too little to
tell sky from water or skin from wood. ColorUNet keeps its input (the gray image at 1/4 resolution,
pixel unshuffled), its output (``K`` chroma-bin scores per quarter-resolution pixel) and its decoding
(:func:`srcli.archs.colornet.decode_chroma`), and puts between them a strided encoder down to 1/32
of the input (widths ``num_feat·(1, 2, 3, 4)``), a pooled feature of the whole picture added at the
bottom, and a decoder back up with the encoder's features added at each level. Most of the work
is at 1/8 to 1/32 resolution, so the network is cheap for its reach.

State-dict layout (``L = 4`` levels, ``n = num_conv`` convolutions per level)::

    bins, temperature, saturation   as in ColorNet
    encoder.l.(2i), (2i+1)          Conv2d(·, w_l, 3, stride 2 for the first of l ≥ 1), PReLU(w_l)    i < n
    context                         Linear(w_3, w_3): the pooled feature added to every 1/32 pixel
    decoder.j.reduce                Conv2d(w_(l+1), w_l, 1) at the coarser level, then ×2 bilinear   l = 2 − j
    decoder.j.fuse.0, fuse.1        Conv2d(w_l, w_l, 3), PReLU(w_l) after adding encoder level l
    head                            Conv2d(w_0, K, 1)
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from srcli.archs.colornet import DOWN, ChromaClassifier

WIDTHS = (1, 2, 3, 4)
"""Width of each level in units of ``num_feat``: 1/4, 1/8, 1/16, 1/32 of the input."""
INPUT_MULTIPLE = DOWN * 2 ** (len(WIDTHS) - 1)


def _conv(channels_in: int, channels_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(channels_in, channels_out, 3, stride, 1), nn.PReLU(channels_out)]


class UpStep(nn.Module):
    """One decoder level: coarse ``(N, C₊, h, w)`` and skip ``(N, C, 2h, 2w)`` → ``(N, C, 2h, 2w)``."""

    def __init__(self, coarse: int, fine: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(coarse, fine, 1)
        self.fuse = nn.Sequential(*_conv(fine, fine))

    def forward(self, coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(self.reduce(coarse), size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.fuse(up + skip)


class ColorUNet(ChromaClassifier):
    """Gray ``(N, 1, H, W)`` in [0, 1] (H, W multiples of 32) → RGB ``(N, 3, H, W)``, unclamped."""

    def __init__(
        self,
        num_feat: int = 32,
        num_conv: int = 2,
        bins: torch.Tensor | None = None,
        temperature: float = 0.4,
        saturation: float = 1.0,
    ) -> None:
        super().__init__(num_feat, num_conv, bins, temperature, saturation)
        widths = [num_feat * m for m in WIDTHS]
        levels = []
        for level, width in enumerate(widths):
            first = _conv(DOWN * DOWN, width) if level == 0 else _conv(widths[level - 1], width, stride=2)
            rest = [layer for _ in range(num_conv - 1) for layer in _conv(width, width)]
            levels.append(nn.Sequential(*first, *rest))
        self.encoder = nn.ModuleList(levels)
        self.context = nn.Linear(widths[-1], widths[-1])
        self.decoder = nn.ModuleList(UpStep(widths[level + 1], widths[level]) for level in reversed(range(3)))
        self.head = nn.Conv2d(widths[0], self.bins.shape[0], 1)

    input_multiple = INPUT_MULTIPLE

    def logits(self, gray: torch.Tensor) -> torch.Tensor:
        """Bin scores ``(N, K, H/4, W/4)``."""
        out = F.pixel_unshuffle(gray, DOWN) - 0.5
        skips = []
        for level in self.encoder:
            out = level(out)
            skips.append(out)
        out = out + self.context(out.mean((2, 3)))[..., None, None]
        for step, skip in zip(self.decoder, reversed(skips[:-1]), strict=True):
            out = step(out, skip)
        return self.head(out)


def is_colorunet(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """True for a state dict in the ColorUNet layout."""
    return {"bins", "temperature", "saturation", "encoder.0.0.weight", "context.weight", "head.weight"} <= set(
        state_dict
    )


def colorunet_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> ColorUNet:
    """Build a ColorUNet whose hyperparameters are read off the tensors."""
    num_conv = sum(1 for key, t in state_dict.items() if key.startswith("encoder.0.") and t.ndim == 4)
    return ColorUNet(
        state_dict["encoder.0.0.weight"].shape[0],
        num_conv,
        state_dict["bins"],
        float(state_dict["temperature"]),
        float(state_dict["saturation"]),
    )
