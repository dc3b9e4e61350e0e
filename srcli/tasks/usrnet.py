"""A kernel-conditioned network (USRNet) on files: ``srcli upscale --model M --degradation SPEC --noise σ``
and ``srcli deblur IMAGE --kernel K`` (scale 1).

The network is given the degradation's kernel (a separable spec as its interior kernel,
:func:`srcli.io.degradation_spec.degradation_kernel`), the scale and the noise level, and runs in tiles like any SR
network; each window is mirrored by the kernel's reach first (its data step is circular), and cropped back.
Its estimate is then projected under the stated degradation and rounded by
:class:`srcli.tasks.sr_degraded.UpscaleDegraded`, so the saved file is consistent with the input as that task
reports: exactly after the integer round trip for a clean LR, to the noise level for a noisy one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from srcli.archs import Model
from srcli.io.degradation_spec import degradation_kernel, operator_for
from srcli.io.images import Picture
from srcli.tasks.batch import Job
from srcli.tasks.run import RunOptions
from srcli.tasks.sr_degraded import UpscaleDegraded

ROUNDING_NOISE = 1 / math.sqrt(12)
"""The noise a file's rounding adds, in its levels (uniform on ±½): deblurring relaxes to it at least."""


class FixedDegradation(nn.Module):
    """A kernel-conditioned network with its degradation fixed: ``(N, 3, h, w)`` in [0, 1] →
    ``(N, 3, s·h, s·w)``, unclamped. The input is mirrored by ``margin`` LR pixels (replicated where the
    image is smaller), so that the network's circular data step wraps around mirrored content, not the
    opposite border."""

    def __init__(self, net: nn.Module, kernel: torch.Tensor, scale: int, noise: float) -> None:
        super().__init__()
        self.net, self.scale = net, scale
        self.register_buffer("kernel", kernel.to(torch.float32)[None, None], persistent=False)
        self.register_buffer("sigma", torch.tensor([[[[noise]]]], dtype=torch.float32), persistent=False)
        self.margin = math.ceil((max(kernel.shape) // 2 + scale) / scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, s = self.margin, self.scale
        reflect = min(m, x.shape[-2] - 1, x.shape[-1] - 1)
        padded = F.pad(x, (reflect,) * 4, mode="reflect") if reflect > 0 else x
        padded = F.pad(padded, (m - reflect,) * 4, mode="replicate") if reflect < m else padded
        out = self.net(padded, self.kernel, s, self.sigma)
        return out[..., s * m : out.shape[-2] - s * m, s * m : out.shape[-1] - s * m]


@dataclass(frozen=True)
class UpscaleUnfolded(UpscaleDegraded):
    """:class:`UpscaleDegraded` with a kernel-conditioned model in ``stages`` (one), run at ``factor`` with
    the kernel of ``degradation`` and the noise level ``network_noise`` (levels); ``noise`` is the level the
    projection relaxes to (:func:`deblur_task` adds the input's rounding)."""

    factor: int = 1
    network_noise: float = 0.0

    @property
    def scale(self) -> int:
        return self.factor

    @property
    def denoises(self) -> bool:
        """Never: the network is given the noise level and removes the noise itself."""
        return False

    def stages_for(self, item: Picture) -> list[Model]:
        """The model with this picture's degradation fixed (noise in its own depth's units); a kernel the
        picture cannot take (larger than it) is refused before the network runs."""
        operator_for(self.degradation, self.factor, item.height * self.factor, item.width * self.factor)
        model = self.stages[0]
        kernel = degradation_kernel(self.degradation, self.factor)
        fixed = FixedDegradation(model.net, kernel, self.factor, self.network_noise / item.max_value)
        return [replace(model, net=fixed, scale=self.factor)]

    def record(self, item: Picture, data: bytes, kept: None, job: Job) -> dict[str, Any]:
        record = super().record(item, data, kept, job)  # the network runs at the factor itself: nothing resampled
        return record | {"estimate_scale": self.factor, "resample": None, "network_noise": self.network_noise}


def deblur_task(model: Model, options: RunOptions, kernel: str, noise: float) -> UpscaleUnfolded:
    """Deblurring (scale 1) with ``kernel`` (a spec) and ``noise`` levels: the projection relaxes to the noise
    and the input's rounding together (an exact projection would amplify the rounding where the kernel's
    spectrum is small: a Gaussian of σ 1.6 deblurred exactly leaves about 5 dB)."""
    level = math.hypot(noise, ROUNDING_NOISE)
    return UpscaleUnfolded([model], options, kernel, level, name="deblur", factor=1, network_noise=noise)
