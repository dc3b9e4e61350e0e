"""``srcli train usrnet``: one USRNet for every scale, blur kernel and noise level (scale 1 is deblurring).

Each step draws one scale from ``--scales`` (a batch shares it, as upstream), and per patch a kernel
(:func:`srcli.train.kernels.random_kernel`: isotropic and anisotropic Gaussians, motion along a random
trajectory, the bicubic kernel of the scale) and a noise level: none for one patch in eight, else uniform
in [0, ``--max-noise``] levels. The LR is the patch blurred circularly, sampled at srcli's offset (the
degradation the data step inverts, :class:`srcli.archs.usrnet.CircularDegradation`), noised, rounded to
8 bits and clipped, as a file stores it. L1 loss on the network's output (its last step is the prior, as
upstream; ``srcli upscale`` and ``srcli deblur`` project that output onto the stated degradation).

Validation: the centre :data:`VAL_SIDE` pixels of each ``--val`` image under one fixed degradation per
scale (:data:`VALIDATION`), PSNR-Y with the scale's border cropped; ``val_psnr_y`` is their mean.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from srcli.archs.usrnet import CircularDegradation, ResBlock, USRNet
from srcli.errors import TrainError
from srcli.io.images import pil_to_tensor
from srcli.maths.blur_kernels import gaussian_kernel
from srcli.maths.degradations import interior_kernel
from srcli.maths.metrics import psnr_y
from srcli.train.configs.usrnet import USRNetTrainConfig
from srcli.train.data import sample_batch
from srcli.train.kernels import centred, random_kernel, trajectory_kernel
from srcli.train.loop import Report, Task, fit

VAL_SIDE = 240
"""Validation crop side, HR pixels (a multiple of 8 and of every scale 1–4)."""
VALIDATION = {1: ("motion", 2.55), 2: ("anisotropic", 0.0), 3: ("bicubic", 0.0), 4: ("gaussian", 2.55)}
"""Per scale, the validation kernel and noise level (levels): a seeded trajectory kernel, a Gaussian of
σ 2.0 × 0.8 at 30°, bicubic ×3, an isotropic Gaussian of σ 1.6 (the benchmarks' ×4 setting)."""
SILENT_SHARE = 8
"""One patch in this many has no noise at all (as upstream)."""


def validation_kernel(scale: int, size: int) -> torch.Tensor:
    """The fixed kernel :data:`VALIDATION` names for ``scale``, ``(size, size)``."""
    kind = VALIDATION[scale][0]
    if kind == "motion":
        return trajectory_kernel(torch.Generator().manual_seed(2020), size)
    if kind == "anisotropic":
        return centred(gaussian_kernel(2.0, 0.8, 30.0), size)
    if kind == "bicubic":
        return centred(interior_kernel("bicubic", scale), size)
    return centred(gaussian_kernel(1.6, 1.6, 0.0), size)


def degrade(hr: torch.Tensor, kernels: torch.Tensor, scale: int, noise: torch.Tensor,
            generator: torch.Generator) -> torch.Tensor:  # fmt: skip
    """``hr`` ``(N, 3, H, W)`` in [0, 1] blurred circularly with ``kernels`` ``(N, 1, k, k)``, every s-th pixel
    from ``s // 2``, Gaussian noise of ``noise`` ``(N,)`` levels, rounded to 8 bits and clipped:
    ``(N, 3, H/s, W/s)``."""
    clean = CircularDegradation(kernels, scale, hr.shape[-2], hr.shape[-1]).A(hr)
    noisy = clean + noise.view(-1, 1, 1, 1) / 255 * torch.randn(clean.shape, generator=generator)
    return (noisy * 255).round().clamp(0, 255) / 255


def identity_prior(net: USRNet) -> None:
    """Initialise ``net``'s prior (a ResUNet without a skip from input to output) to return its input's image
    channels exactly, with every path that can learn open: the head copies the image into its first channels
    (the others Kaiming-normal), each residual block's second convolution is zero (the block is the
    identity), the stride-2 convolutions are Kaiming-normal and the transposed ones zero (the decoder adds
    nothing yet, but its gradients flow through the skips), and the tail reads the copied channels back.
    The default initialisation starts the prior near zero, Kaiming-normal everywhere makes its output grow
    by ~10²¹ over six iterations (both measured at the default sizes)."""
    prior = net.p
    for module in prior.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        elif isinstance(module, nn.ConvTranspose2d):
            nn.init.zeros_(module.weight)
    for module in prior.modules():
        if isinstance(module, ResBlock):
            second = module.res[2]
            assert isinstance(second, nn.Conv2d)
            nn.init.zeros_(second.weight)
    colours = net.out_nc
    with torch.no_grad():
        prior.m_head.weight[:colours].zero_()
        prior.m_head.weight[:colours, :colours, 1, 1] = torch.eye(colours)
        prior.m_tail.weight.zero_()
        prior.m_tail.weight[:, :colours, 1, 1] = torch.eye(colours)


class USRNetTask(Task):
    """Random scale, kernels and noise per step; L1 of USRNet's output against the HR patch."""

    y_label = "PSNR-Y (dB)"
    title = "validation PSNR-Y, one degradation per scale (mean)"
    curve = "USRNet"

    def __init__(self, config: USRNetTrainConfig) -> None:
        self.config = config
        self.min_side = config.patch
        self.scales = config.scale_list()
        self.columns = tuple(f"val_x{scale}" for scale in self.scales)

    def prepare(self, images: list[torch.Tensor], val_files: list[Path], report: Report) -> None:
        self.images = images
        self.validation: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor, float]] = []
        for index, path in enumerate(val_files):
            with Image.open(path) as opened:
                hr = pil_to_tensor(opened.convert("RGB")).unsqueeze(0).float() / 255
            side = min(VAL_SIDE, hr.shape[-2] // 24 * 24, hr.shape[-1] // 24 * 24)
            if side < self.config.kernel_size:
                raise TrainError(f"validation image {path.name} is too small (under {self.config.kernel_size} px)")
            top, left = (hr.shape[-2] - side) // 2, (hr.shape[-1] - side) // 2
            hr = hr[..., top : top + side, left : left + side]
            for scale in self.scales:
                kernel = validation_kernel(scale, self.config.kernel_size).float()[None, None]
                noise = VALIDATION[scale][1]
                generator = torch.Generator().manual_seed(1000 * index + scale)
                lr = degrade(hr, kernel, scale, torch.tensor([noise]), generator)
                self.validation.append((scale, lr, kernel, hr, noise))

    def build_net(self) -> nn.Module:
        return USRNet(**self.config.network_config())  # type: ignore[arg-type]

    def initialize(self, net: nn.Module) -> None:
        """Start the prior as the identity on the image (:func:`identity_prior`), so the untrained network
        is its data steps alone, and training learns what the prior adds."""
        identity_prior(net)  # type: ignore[arg-type]

    def wrap(self, net: nn.Module) -> nn.Module:
        self.net = net
        return net

    def draw_batch(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        config = self.config
        self.scale = self.scales[int(torch.randint(len(self.scales), (), generator=generator))]
        hr = sample_batch(self.images, generator, config.batch, config.patch) / 255
        kernels = [random_kernel(generator, self.scale, config.kernel_size) for _ in range(config.batch)]
        self.kernels = torch.stack(kernels).float().unsqueeze(1)
        silent = torch.randint(SILENT_SHARE, (config.batch,), generator=generator) == 0
        noise = torch.rand(config.batch, generator=generator) * config.max_noise
        self.noise = torch.where(silent, torch.zeros_like(noise), noise)
        return degrade(hr, self.kernels, self.scale, self.noise, generator), hr

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        sigma = (self.noise / 255).view(-1, 1, 1, 1)
        return F.l1_loss(self.net(inputs, self.kernels, self.scale, sigma), targets)

    def validate(self) -> dict[str, float]:
        if not self.validation:
            return {}
        scores: dict[int, list[float]] = {scale: [] for scale in self.scales}
        with torch.inference_mode():
            for scale, lr, kernel, hr, noise in self.validation:
                out = self.net(lr, kernel, scale, torch.tensor([[[[noise / 255]]]]))
                scores[scale].append(psnr_y((out.clamp(0, 1) * 255).round().double() / 255, hr.double(), scale))
        means = {f"val_x{scale}": sum(values) / len(values) for scale, values in scores.items()}
        return {"val_psnr_y": sum(means.values()) / len(means), **means}

    def header(self, row: dict[str, str]) -> dict[str, str]:
        config = self.config
        validation = {key: row[key] for key in ("val_psnr_y", *self.columns) if key in row}
        return {"task": "kernel", "scales": config.scales, "max_noise": str(config.max_noise),
                "kernel_size": str(config.kernel_size), **validation}  # fmt: skip


def train_usrnet(config: USRNetTrainConfig, resume: bool, report: Report = print) -> Path:
    """Train (or resume) a USRNet; writes weights to ``config.out`` and returns its path."""
    return fit(USRNetTask(config), config, resume, report)
