"""Every SR architecture spandrel recognises, as a srcli :class:`~srcli.archs.Model` (the optional extra
``srcli[spandrel]``; without it this module answers None and srcli's own registry is all there is).

srcli's registry is asked first (its trainable architectures, and the RRDBNet layouts it renames); a state
dict it does not know goes to spandrel's ``load_from_state_dict``. Loading stays safe: the tensors come
from :mod:`srcli.checkpoints.load` (safetensors, or ``torch.load(weights_only=True)``), never
TorchScript or a plain pickle. The network honours spandrel's size requirements inside its forward pass
(padded to ``multiple_of``/``minimum``/square, the output cropped back), so PD runs on the unpadded grid;
where spandrel discourages tiling, or the model tiles internally, srcli runs the picture whole by default.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from srcli.archs import Model

UNKNOWN_RADIUS = 1 << 16
"""The receptive radius srcli assumes for a spandrel network (attention reaches across its window or the
whole image): tile overlaps then stay at their cap and tiles are feather-blended."""


class SpandrelNet(nn.Module):
    """``(N, 3, h, w)`` in [0, 1] → ``(N, 3, s·h, s·w)``: spandrel's model with its own call, padded to its
    size requirements and cropped back, unclamped (PD and the exact step clip)."""

    def __init__(self, descriptor) -> None:
        super().__init__()
        self.model, self.scale = descriptor.model, int(descriptor.scale)
        self._call, self._sizes = descriptor._call_fn, descriptor.size_requirements

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        pad_width, pad_height = self._sizes.get_padding(width, height)
        if pad_width or pad_height:  # reflect as far as it goes, then replicate (as spandrel's own call)
            reflect_width, reflect_height = min(pad_width, width - 1), min(pad_height, height - 1)
            x = F.pad(x, (0, reflect_width, 0, reflect_height), mode="reflect")
            x = F.pad(x, (0, pad_width - reflect_width, 0, pad_height - reflect_height), mode="replicate")
        return self._call(self.model, x)[..., : height * self.scale, : width * self.scale]


def spandrel_model(state_dict: Mapping[str, torch.Tensor], name: str) -> Model | None:
    """The SR network spandrel recognises in ``state_dict``, described; None where spandrel is not
    installed or knows no architecture for it. Raises ValueError (its message starts with ``name``) for a
    recognised network that is no RGB super-resolution model, or whose tensors do not fit."""
    try:
        from spandrel import ImageModelDescriptor, ModelLoader, UnsupportedModelError
        from spandrel import ModelTiling as Tiling
    except ImportError:
        return None
    try:
        descriptor = ModelLoader().load_from_state_dict(dict(state_dict))
    except UnsupportedModelError:
        return None
    except Exception as error:  # spandrel raises what its architecture code raises for tensors that do not fit
        text = str(error).strip().splitlines()
        raise ValueError(f"{name}: spandrel cannot load it ({text[0] if text else type(error).__name__})") from None
    architecture = descriptor.architecture.id
    if not isinstance(descriptor, ImageModelDescriptor) or descriptor.purpose not in ("SR", "FaceSR"):
        raise ValueError(f"{name} is a {architecture} model for {descriptor.purpose}, not super-resolution")
    if descriptor.input_channels != 3 or descriptor.output_channels != 3 or descriptor.scale < 2:
        channels = f"{descriptor.input_channels} to {descriptor.output_channels} channels at ×{descriptor.scale}"
        raise ValueError(f"{name}: a {architecture} net from {channels}; srcli upscales RGB ×2 or more")
    net = SpandrelNet(descriptor).eval()
    return Model(
        net=net,
        name=name,
        arch=f"spandrel:{architecture}",
        task="sr",
        scale=net.scale,
        input_multiple=1,  # SpandrelNet pads to spandrel's requirements itself
        receptive_radius=UNKNOWN_RADIUS,
        features=64,
        parameters=sum(p.numel() for p in net.parameters()),
        correction="smooth",
        whole=descriptor.tiling in (Tiling.DISCOURAGED, Tiling.INTERNAL),
    )
