"""``srcli train sr``: an SR network trained with PD inside the forward pass.

HR patches with random flips and transposes, LR by the box average the upscaler inverts, L1
loss (or MSE, ``--loss mse``, which PSNR measures, or ``--loss l1-luma``, weighted towards the
BT.601 luma the benchmarks score) on the projected output, against the HR patch or a teacher's
self-ensemble (``--teacher``, :mod:`srcli.train.teacher`); the loop itself (schedule, resume, logs) is
:mod:`srcli.train.loop`.

With ``--degradation`` (bicubic, bicubic-matlab, gaussian:σ) the LR is that degradation of the whole
photo, as ``srcli degrade`` and the published tables make it (Pillow's own 8-bit resize for bicubic), and
patches are cut in pairs on the scale grid, so the network sees exactly the LR it meets in use. The output
is projected under the patch's own operator (:class:`DegradedPD`); that operator renormalises the kernel at
the patch border where the photo's reaches past it, so the loss leaves out the LR rows whose footprint
crosses the border (:func:`loss_band`) and counts only HR pixels whose constraint is the photo's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from srcli.archs.compact import deepen_compact, is_compact, widen_compact_scale
from srcli.checkpoints.load import build_network
from srcli.errors import TrainError
from srcli.io.degradation_spec import downsample_rounded, parse_spec, separable
from srcli.io.images import pil_to_tensor
from srcli.io.jpeg_files import jpeg_round_trip
from srcli.io.testsets import Upscaler, evaluate_sr
from srcli.maths.degradations import Resize
from srcli.maths.jpeg import JpegCoefficients, box_target
from srcli.maths.metrics import Y_WEIGHTS, psnr_y
from srcli.maths.operators import AvgPool, PDWrapper
from srcli.train.configs.sr import SRTrainConfig
from srcli.train.data import sample_batch, sample_pairs
from srcli.train.loop import Report, Task, fit
from srcli.train.teacher import load_teacher, with_targets

LUMA_WEIGHTS = torch.tensor(Y_WEIGHTS) / 255  # Y - 16 in [0, 219/255] for RGB in [0, 1]
CHROMA_SHARE = 0.25  # of the RGB L1 kept in l1-luma, so that colour stays anchored


def luma_l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 on BT.601 luma plus a quarter of the RGB L1, for ``(N, 3, H, W)`` in [0, 1]: the error
    the PSNR-Y protocol scores weighs most, and a colour error that leaves luma unchanged still costs."""
    weights = LUMA_WEIGHTS.to(output).view(1, 3, 1, 1)
    luma_error = F.l1_loss((output * weights).sum(dim=1), (target * weights).sum(dim=1))
    return luma_error + CHROMA_SHARE * F.l1_loss(output, target)


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "l1": F.l1_loss,
    "mse": F.mse_loss,
    "l1-luma": luma_l1,
}


def box_lr(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The 8-bit LR that ``Image.reduce`` makes: box mean rounded half up, in [0, 255]."""
    return torch.floor(F.avg_pool2d(hr, scale) + 0.5)


def rounded_upscaler(model: nn.Module) -> Upscaler:
    """The model as an :data:`~srcli.io.testsets.Upscaler`: uint8 LR in, its output rounded to uint8 out."""

    def upscale(lr: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return (model(lr.float() / 255).clamp(0, 1) * 255).round().to(torch.uint8)

    return upscale


def validate(model: nn.Module, files: list[Path], scale: int) -> float:
    """Mean Set5-style PSNR-Y of the model's rounded output (protocol of shared/README.md)."""
    scores = evaluate_sr(rounded_upscaler(model), files, scale, with_ssim=False)
    return sum(s.psnr_y for s in scores) / len(scores)


def degraded_lr(hr: torch.Tensor, scale: int, degradation: str) -> torch.Tensor:
    """``(3, s·h, s·w)`` uint8 → ``(3, h, w)`` uint8: ``degradation`` as a file stores it (Pillow's own 8-bit
    resize for bicubic, :func:`srcli.io.degradation_spec.downsample_rounded`)."""
    return downsample_rounded(hr, scale, degradation, 8).to(torch.uint8)


def validate_degraded(model: nn.Module, files: list[Path], scale: int, degradation: str) -> float:
    """:func:`validate` on LR made by ``degradation`` (HR cropped to a multiple of the scale, PSNR-Y with
    ``scale`` border pixels cropped)."""
    upscale, scores = rounded_upscaler(model), []
    for path in files:
        with Image.open(path) as image:
            hr = pil_to_tensor(image.convert("RGB"))
        hr = hr[:, : hr.shape[1] // scale * scale, : hr.shape[2] // scale * scale]
        sr = upscale(degraded_lr(hr, scale, degradation).unsqueeze(0))
        scores.append(psnr_y(sr.double() / 255, hr.unsqueeze(0).double() / 255, scale))
    return sum(scores) / len(scores)


def loss_band(degradation: str, scale: int) -> int:
    """LR pixels at each patch border whose footprint under the photo's degradation reaches past the patch
    (where the patch's own operator renormalises its kernel): 2 for Pillow's bicubic, 0 for the box.

    Example:
        >>> loss_band("bicubic", 4), loss_band("box", 4), loss_band("gaussian:3", 2)
        (2, 0, 5)
    """
    rows = separable(degradation, scale, 64 * scale, 64 * scale).rows
    used = (rows[32].abs() > 0).nonzero().flatten()
    reach = max(32 * scale - int(used[0]), int(used[-1]) + 1 - 33 * scale)
    return -(-reach // scale)


class DegradedPD(nn.Module):
    """PD under a separable degradation for inputs of any size: ``project(net(y), y)`` with the operator of
    the output's size (:class:`srcli.maths.degradations.Resize`, kept per size)."""

    def __init__(self, net: nn.Module, degradation: str, scale: int) -> None:
        super().__init__()
        self.net, self.degradation, self.scale = net, degradation, scale
        self.operators: dict[tuple[int, int], Resize] = {}

    def operator(self, height: int, width: int) -> Resize:
        if (height, width) not in self.operators:
            self.operators[height, width] = separable(self.degradation, self.scale, height, width)
        return self.operators[height, width]

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        estimate = self.net(y)
        return self.operator(*estimate.shape[-2:]).project(estimate, y)


class JpegPD(nn.Module):
    """PD onto a JPEG file's bins for training: ``net(y)``, its box mean moved into the bins of the batch's
    coefficients (:func:`srcli.maths.jpeg.box_target`, one clip) and the change spread by nearest replication.
    The batch's coefficients are set with :meth:`observe` before each forward pass."""

    def __init__(self, net: nn.Module, scale: int) -> None:
        super().__init__()
        self.net, self.scale = net, scale
        self.coefficients: JpegCoefficients | None = None

    def observe(self, coefficients: JpegCoefficients) -> None:
        self.coefficients = coefficients

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if self.coefficients is None:
            raise TrainError("JpegPD needs the batch's coefficients")
        estimate = self.net(y)
        lr = F.avg_pool2d(estimate.double(), self.scale)
        change = box_target(lr, self.coefficients) - lr
        return estimate + F.interpolate(change.to(estimate.dtype), scale_factor=self.scale, mode="nearest")


JPEG_SAMPLINGS = ((2, 2), (1, 1), (1, 2))
"""Chroma samplings JPEG training draws from (4:2:0 twice as often as each other: the common default)."""


def jpeg_batch(
    lr: torch.Tensor, qualities: tuple[int, int], generator: torch.Generator
) -> tuple[torch.Tensor, JpegCoefficients]:
    """``(N, 3, h, w)`` uint8-valued LRs → what a decoder shows of each saved as a JPEG (``(N, 3, h, w)`` float in
    [0, 255]) and the batch's coefficients; the quality drawn per image, the sampling per batch."""
    pick = int(torch.randint(len(JPEG_SAMPLINGS) + 1, (1,), generator=generator))
    sampling = JPEG_SAMPLINGS[max(0, pick - 1)]
    decoded, files = [], []
    for image in lr:
        quality = int(torch.randint(qualities[0], qualities[1] + 1, (1,), generator=generator))
        pixels, file = jpeg_round_trip(image[None].to(torch.uint8), quality, sampling)
        decoded.append(pixels[0].float())
        files.append(file)
    chroma = [f.chroma for f in files]
    coefficients = JpegCoefficients(
        torch.stack([f.luma for f in files]),
        None if chroma[0] is None else torch.stack([c for c in chroma if c is not None]),
        torch.stack([f.tables for f in files]),
        files[0].layout,
        files[0].size,
    )
    return torch.stack(decoded), coefficients


def validate_jpeg(model: JpegPD, files: list[Path], scale: int, quality: int = 50) -> float:
    """Mean PSNR-Y of the rounded output on box LRs saved at JPEG ``quality`` 4:2:0 (HR cropped to the scale)."""
    scores = []
    with torch.inference_mode():
        for path in files:
            with Image.open(path) as image:
                hr = pil_to_tensor(image.convert("RGB"))
            hr = hr[:, : hr.shape[1] // scale * scale, : hr.shape[2] // scale * scale].unsqueeze(0)
            decoded, coefficients = jpeg_round_trip(box_lr(hr.float(), scale).to(torch.uint8), quality, (2, 2))
            model.observe(coefficients)
            sr = (model(decoded.float() / 255).clamp(0, 1) * 255).round()
            scores.append(psnr_y(sr.double() / 255, hr.double() / 255, scale))
    return sum(scores) / len(scores)


def grown_compact(weights: dict[str, torch.Tensor], arch: str, scale: int, num_conv: int) -> dict[str, torch.Tensor]:
    """``weights`` for a compact net of ``scale`` with ``num_conv`` convolutions, where they are a compact
    net's of another scale (its sub-pixel grid resampled, without changing what it computes where its scale
    divides ``scale``) or with fewer convolutions (deepened without changing what it computes:
    :func:`srcli.archs.compact.widen_compact_scale`, :func:`srcli.archs.compact.deepen_compact`); other
    weights as they are. A deeper source is refused (``ValueError``)."""
    if arch == "compact" and is_compact(weights):
        return deepen_compact(widen_compact_scale(weights, scale), num_conv)
    return weights


class SRTask(Task):
    """Box-downsampled LR patches in, the PD-projected output against the HR patch (or the
    teacher's target) under the configured pixel loss."""

    y_label = "PSNR-Y (dB)"

    def __init__(self, config: SRTrainConfig) -> None:
        self.config = config
        self.hr_patch = self.min_side = config.patch * config.scale
        self.rescales = config.rescales
        self.degraded = parse_spec(config.degradation)[0] != "box"
        self.band = loss_band(config.degradation, config.scale) if self.degraded else 0
        if 2 * self.band >= config.patch:
            raise TrainError(f"--patch {config.patch} leaves no pixel inside the {self.band}-pixel loss band")
        self.jpeg = bool(config.jpeg_quality)
        label = f" JPEG q{config.jpeg_quality[0]}-{config.jpeg_quality[1]} LR" if self.jpeg else ""
        label = label if not self.degraded else f" {config.degradation} LR"
        self.curve = f"x{config.scale} {'PD' if config.pd else 'no PD'}{label}"
        self.title = f"validation PSNR-Y, x{config.scale}{label}"

    def prepare(self, images: list[torch.Tensor], val_files: list[Path], report: Report) -> None:
        config = self.config
        if config.teacher is not None:
            images = with_targets(load_teacher(config.teacher, config.scale), images, config.scale, report)
        if self.degraded:  # each photo cropped to the scale grid and its LR made whole, once
            s = config.scale
            images = [image[:, : image.shape[1] // s * s, : image.shape[2] // s * s] for image in images]
            self.lrs = [degraded_lr(image, s, config.degradation) for image in images]
        self.images, self.val_files = images, val_files

    def build_net(self) -> nn.Module:
        return build_network(self.config.arch, self.config.network_config())

    def fit_weights(self, weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return grown_compact(weights, self.config.arch, self.config.scale, self.config.num_conv)

    def wrap(self, net: nn.Module) -> nn.Module:
        # channels-last: measured 1.3x faster steps on a 2-core AVX2 CPU
        net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.net = net
        config = self.config
        if not config.pd:
            self.model = net
        elif self.jpeg:
            self.model = JpegPD(net, config.scale)
        elif self.degraded:
            self.model = DegradedPD(net, config.degradation, config.scale)
        else:
            self.model = PDWrapper(net, AvgPool(config.scale, config.correction))
        return self.model

    def draw_batch(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        config = self.config
        if self.degraded:
            lr, hr = sample_pairs(self.images, self.lrs, generator, config.batch, config.patch, config.scale)
            return (lr / 255).contiguous(memory_format=torch.channels_last), hr / 255
        align = config.scale if config.teacher else 1
        patches = sample_batch(self.images, generator, config.batch, self.hr_patch, align=align)
        lr = box_lr(patches[:, :3], config.scale)
        if self.jpeg:
            lr, coefficients = jpeg_batch(lr, (config.jpeg_quality[0], config.jpeg_quality[1]), generator)
            if isinstance(self.model, JpegPD):
                self.model.observe(coefficients)
        lr = (lr / 255).contiguous(memory_format=torch.channels_last)
        return lr, patches[:, -3:] / 255  # the HR patch, or the teacher's target stacked under it

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        output, margin = self.model(inputs), self.band * self.config.scale
        if margin:
            output, targets = output[..., margin:-margin, margin:-margin], targets[..., margin:-margin, margin:-margin]
        return LOSSES[self.config.loss](output, targets)

    def validate(self) -> dict[str, float]:
        config = self.config
        if not self.val_files:
            return {}
        if self.jpeg and isinstance(self.model, JpegPD):
            return {"val_psnr_y": validate_jpeg(self.model, self.val_files, config.scale)}
        if self.degraded:
            return {"val_psnr_y": validate_degraded(self.model, self.val_files, config.scale, config.degradation)}
        return {"val_psnr_y": validate(self.model, self.val_files, config.scale)}

    def header(self, row: dict[str, str]) -> dict[str, str]:
        config = self.config
        pd = "true" if config.pd else "false"
        header = {"task": "sr", "scale": str(config.scale), "pd": pd, "correction": config.correction}
        if self.degraded:
            header["degradation"] = config.degradation
        if self.jpeg:
            header["degradation"] = "jpeg"
            header["jpeg_quality"] = f"{config.jpeg_quality[0]},{config.jpeg_quality[1]}"
        return header | {"val_psnr_y": row["val_psnr_y"]}


def train_sr(config: SRTrainConfig, resume: bool, report: Report = print) -> Path:
    """Train (or resume) an SR network; writes weights to ``config.out`` and returns its path."""
    return fit(SRTask(config), config, resume, report)
