"""SRVGGNetCompact: a plain VGG-style body on the LR grid, pixel shuffle, an upsampled skip.

The skip is the LR upsampled nearest (upstream's) or bilinearly. With nearest, the residual the body must
learn jumps at every s×s block border, and what it misses shows as a block grid (BSD68 ×4: luma gradient
across block borders 1.49× the one inside, bicubic's 1.29); with bilinear the residual is smooth there
(1.28 after a 500-step fine-tune). The skip is a setting, not a tensor: a checkpoint's header config says it.
The bilinear skip is made on the LR grid, as the ``s²`` sub-pixel channels the last convolution writes, and added
there before the pixel shuffle: a fixed 3×3 filter per sub-pixel (:func:`bilinear_phase_kernels`; pixel centres
aligned, borders replicated, as ``F.interpolate(..., mode="bilinear", align_corners=False)``), in float32 under
autocast. The same values to float rounding as upsampling the LR to the output's size, with one HR-sized pass fewer
(a 288² tile's shuffle and skip 12.6 → 4.4 ms). The nearest skip stays an HR upsampling: repeated into 48 float32
LR channels it was slower than the bfloat16 shuffle it replaced.
State-dict layout as upstream (Real-ESRGAN's ``srvgg_arch.py``), so its ``realesr-*`` compact
checkpoints load with ``strict=True``::

    body.0        Conv2d(in_ch, num_feat, 3)
    body.1        PReLU(num_feat)
    body.2k, 2k+1 Conv2d(num_feat, num_feat, 3), PReLU(num_feat)    k = 1..num_conv
    body.last     Conv2d(num_feat, in_ch · scale², 3)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

SKIPS = ("nearest", "bilinear")
"""How the LR is upsampled into the output's skip connection."""


def bilinear_phase_kernels(scale: int) -> torch.Tensor:
    """``(s², 1, 3, 3)`` float64: the filter on an LR pixel's 3×3 neighbourhood that gives its sub-pixel ``(i, j)``
    (row ``s·i + j``) of the bilinear ×s upsampling; output pixel ``s·r + i`` sits at ``r + (2i + 1 − s) / 2s``.

    Example:
        >>> bilinear_phase_kernels(2)[0, 0]  # the top-left quarter: ¾ of the pixel, ¼ towards each neighbour above/left
        tensor([[0.0625, 0.1875, 0.0000],
                [0.1875, 0.5625, 0.0000],
                [0.0000, 0.0000, 0.0000]], dtype=torch.float64)
    """
    taps = torch.zeros(scale, 3, dtype=torch.float64)
    for phase in range(scale):
        offset = (2 * phase + 1 - scale) / (2 * scale)
        taps[phase, 1] = 1 - abs(offset)
        taps[phase, 0 if offset < 0 else 2] += abs(offset)
    return torch.einsum("ia,jb->ijab", taps, taps).reshape(scale * scale, 1, 3, 3)


class SRVGGNetCompact(nn.Module):
    """``(N, C, h, w)`` in [0, 1] → ``(N, C, scale·h, scale·w)``, unclamped."""

    input_multiple = 1

    def __init__(
        self, in_ch: int = 3, num_feat: int = 48, num_conv: int = 16, scale: int = 4, skip: str = "nearest"
    ) -> None:
        super().__init__()
        if skip not in SKIPS:
            raise ValueError(f"skip must be one of {', '.join(SKIPS)}, got {skip!r}")
        self.in_ch, self.scale, self.skip = in_ch, scale, skip
        self.num_feat, self.num_conv = num_feat, num_conv
        layers: list[nn.Module] = [nn.Conv2d(in_ch, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        layers.append(nn.Conv2d(num_feat, in_ch * scale * scale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(scale)
        kernels = bilinear_phase_kernels(scale).repeat(in_ch, 1, 1, 1)
        self.register_buffer("bilinear_kernels", kernels.to(torch.get_default_dtype()), persistent=False)

    bilinear_kernels: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        if self.skip == "nearest":
            return self.upsampler(out) + F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return self.upsampler(self.lr_skip(x).add_(out))

    def lr_skip(self, x: torch.Tensor) -> torch.Tensor:
        """The bilinear skip ``(N, C·s², h, w)`` in the sub-pixel layout of the last convolution's output, a new
        tensor of ``x``'s dtype (float32 under autocast)."""
        with torch.autocast(x.device.type, enabled=False):
            padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
            return F.conv2d(padded, self.bilinear_kernels.to(x.dtype), groups=self.in_ch)

    @property
    def config(self) -> dict[str, int | str]:
        return {
            "in_ch": self.in_ch,
            "num_feat": self.num_feat,
            "num_conv": self.num_conv,
            "scale": self.scale,
            "skip": self.skip,
        }


def is_compact(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """True for a state dict in the SRVGGNetCompact layout: ``body.i`` convolutions and PReLUs, nothing else
    (ColorNet and CSNet bodies have the same keys beside their own)."""
    return (
        "body.0.weight" in state_dict
        and "body.1.weight" in state_dict
        and state_dict["body.1.weight"].ndim == 1
        and all(re.fullmatch(r"body\.\d+\.(weight|bias)", key) for key in state_dict)
    )


def compact_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> SRVGGNetCompact:
    """Build an SRVGGNetCompact whose hyperparameters are read off the tensor shapes (its skip, which no tensor
    holds, is the header's: :func:`srcli.archs.with_settings`)."""
    conv_indices = sorted(
        int(key.split(".")[1])
        for key, tensor in state_dict.items()
        if key.startswith("body.") and key.endswith(".weight") and tensor.ndim == 4
    )
    num_feat, in_ch = state_dict["body.0.weight"].shape[:2]
    out_channels = state_dict[f"body.{conv_indices[-1]}.weight"].shape[0]
    scale = round((out_channels / in_ch) ** 0.5)
    if scale * scale * in_ch != out_channels:
        raise ValueError(f"last conv has {out_channels} channels: not {in_ch}·scale² for any scale")
    return SRVGGNetCompact(in_ch, num_feat, len(conv_indices) - 2, scale)


def widen_compact_scale(state_dict: Mapping[str, torch.Tensor], scale: int) -> dict[str, torch.Tensor]:
    """The state dict of a compact net for ``scale`` that starts as a trained one of scale ``s``:
    every sub-pixel channel ``(i, j)`` of the last convolution is copied from the sub-pixel
    ``(i·s // scale, j·s // scale)``. Where ``s`` divides ``scale`` the new net's output is the old
    one's, nearest-upsampled by ``scale / s`` (a warm start for ×8 from ×4); otherwise it is the old
    body with its sub-pixel grid resampled to the nearest one (a warm start for ×3 from ×4)."""
    source = compact_from_state_dict(state_dict)
    last = f"body.{2 * source.num_conv + 2}"
    rows = (torch.arange(scale) * source.scale).div(scale, rounding_mode="floor")
    channel = torch.arange(source.in_ch).view(-1, 1, 1) * source.scale**2
    index = (channel + rows.view(1, -1, 1) * source.scale + rows.view(1, 1, -1)).flatten()
    widened = dict(state_dict)
    widened[f"{last}.weight"] = state_dict[f"{last}.weight"][index].clone()
    widened[f"{last}.bias"] = state_dict[f"{last}.bias"][index].clone()
    return widened


def deepen_compact(state_dict: Mapping[str, torch.Tensor], num_conv: int) -> dict[str, torch.Tensor]:
    """The state dict of a compact net with ``num_conv`` body convolutions that starts as a trained
    one with fewer: the new ``(conv, PReLU)`` pairs go before the last convolution as identities
    (a centred delta kernel, zero bias, slope 1), so the deeper net computes the same function and
    training gives them their nonlinearity. Warm start for a deeper net from a shallower one."""
    source = compact_from_state_dict(state_dict)
    if num_conv < source.num_conv:
        raise ValueError(f"a compact net with {source.num_conv} convolutions cannot start one with {num_conv}")
    old_last, new_last = f"body.{2 * source.num_conv + 2}", f"body.{2 * num_conv + 2}"
    deepened = {key: value for key, value in state_dict.items() if not key.startswith(f"{old_last}.")}
    reference = state_dict["body.1.weight"]
    for index in range(source.num_conv + 1, num_conv + 1):
        kernel = torch.zeros(source.num_feat, source.num_feat, 3, 3, dtype=reference.dtype)
        kernel[:, :, 1, 1] = torch.eye(source.num_feat, dtype=reference.dtype)
        deepened[f"body.{2 * index}.weight"] = kernel
        deepened[f"body.{2 * index}.bias"] = torch.zeros(source.num_feat, dtype=reference.dtype)
        deepened[f"body.{2 * index + 1}.weight"] = torch.ones(source.num_feat, dtype=reference.dtype)
    deepened[f"{new_last}.weight"] = state_dict[f"{old_last}.weight"]
    deepened[f"{new_last}.bias"] = state_dict[f"{old_last}.bias"]
    return deepened
