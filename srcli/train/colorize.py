"""``srcli train colorize``: a ColorNet or ColorUNet (``--arch``) trained to classify chroma, with class rebalancing.

A plain L1 (or L2) loss on colours learns the conditional mean, which for most objects is a
washed-out brown (measured here: colourfulness 0.18 of the originals). As in Zhang et al.
2016, the network instead scores chroma bins (soft targets: a Gaussian over the bins around
the true chroma), and each pixel's loss is weighted by how rare its colour is in the training
data (``w ∝ 1 / ((1 − λ) p + λ / K)``), so saturated colours are not drowned by gray ones.
Gray is the channel mean, which the network cannot change: it only chooses chroma, the null
space of ``Gray("mean")``, and PD keeps the input gray exactly.

Rebalancing makes colours bold, and bold wrong colours cost PSNR against the original. When
the run ends, the decoding is calibrated on the calibration images (``--calibrate``, default
the validation images; never the benchmark's test set): of a grid of temperatures and
saturations, the most colourful whose PSNR beats the gray copy's by :data:`CALIBRATION_MARGIN_DB`,
up to :data:`CALIBRATION_MAX_RATIO` of the originals' colourfulness (:func:`choose_decoding`).

With ``--adv-weight``, a relativistic average GAN loss (:func:`srcli.train.gan.relativistic_losses`, as DeOldify
and ESRGAN) joins the classification loss: a U-Net discriminator with spectral norm (the critic ``d``) sees the gray
input beside a colour image, the network's colours (:func:`decoded_colours`: the annealed mean at the network's
temperature and saturation, differentiable) or the photo's (:func:`photo_colours`: its chroma at the network's
quarter resolution, upsampled alike), both projected onto the gray, and scores every pixel. With
``--d-resolution quarter`` it sees both average-pooled to the network's quarter resolution, where the colours it
judges were painted, for about 1/16 of the cost.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from srcli.archs.colornet import DOWN, ColorNet, chroma_grid, chroma_of, decode_chroma, rgb_from
from srcli.archs.colorunet import ColorUNet
from srcli.checkpoints.load import read_metadata, save_checkpoint
from srcli.io.images import read_picture
from srcli.maths.metrics import colourfulness, has_colour, psnr
from srcli.maths.operators import Gray, PDWrapper, pad_to_multiple
from srcli.train.configs.colorize import ColorizeTrainConfig
from srcli.train.data import sample_batch, validation_files
from srcli.train.discriminator import UNetDiscriminatorSN
from srcli.train.gan import relativistic_losses
from srcli.train.loop import Report, Task, drained_means, fit

CALIBRATION_TEMPERATURES = (0.4, 0.55, 0.7, 0.85, 1.0, 1.25, 1.5)
"""Annealed-mean temperatures tried. Lower ones cost less PSNR at equal colourfulness (ColorUNet on Set14: 0.2 gives
0.54× the originals' at +0.54 dB, 0.85 0.51× at +0.52), but near the likeliest bin alone the colour jumps between
bins in blotches (Zhang et al. 2016 stop at 0.38; seen here at 0.2), so the grid stops at 0.4."""
CALIBRATION_SATURATIONS = (
    *(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.35, 1.4, 1.5),
    *(1.6, 1.75, 2.0, 2.5),
)
"""Chroma scales tried: in steps of 0.05 from 1 to 1.4, where the margin usually binds."""
CALIBRATION_MARGIN_DB = 0.5
"""How far the calibrated decoding's mean PSNR must beat the gray copy's on the calibration images."""
CALIBRATION_MAX_RATIO = 0.85
"""The colourfulness (of the originals') the calibration stops at: past issue 41's 0.8 with room, where more
colour only risks PSNR; the margin is usually reached first."""
NETWORKS: dict[str, type[ColorNet | ColorUNet]] = {"colornet": ColorNet, "colorunet": ColorUNet}
GRAY = Gray("mean")


def nearest_bins(chroma: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """Index ``(N, h, w)`` of the bin nearest to each chroma ``(N, 2, h, w)``."""
    return torch.einsum("nchw,kc->nkhw", chroma, bins).mul(2).sub(bins.square().sum(1).view(1, -1, 1, 1)).argmax(1)


def rebalancing_weights(images: list[torch.Tensor], bins: torch.Tensor, mix: float) -> torch.Tensor:
    """Per-bin loss weights ``(K,)``: ``1 / ((1 − mix) p + mix / K)`` normalised so ``Σ p w = 1``,
    with ``p`` the share of quarter-resolution training pixels nearest to each bin."""
    counts = torch.zeros(bins.shape[0], dtype=torch.float64)
    for image in images:
        coarse = F.avg_pool2d(image.unsqueeze(0).float() / 255, DOWN)
        counts += torch.bincount(nearest_bins(chroma_of(coarse), bins).flatten(), minlength=bins.shape[0])
    share = counts / counts.sum()
    weights = 1 / ((1 - mix) * share + mix / bins.shape[0])
    return (weights / (share * weights).sum()).to(torch.float32)


def soft_targets(chroma: torch.Tensor, bins: torch.Tensor, sigma: float) -> torch.Tensor:
    """Target distribution ``(N, K, h, w)``: a Gaussian of width ``sigma`` around each chroma."""
    distance = (chroma.unsqueeze(1) - bins.view(1, -1, 2, 1, 1)).square().sum(2)
    return torch.softmax(-distance / (2 * sigma * sigma), dim=1)


def mean_gray(rgb: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` RGB in [0, 255] → ``(N, 1, H, W)`` the 8-bit rounded channel mean, in [0, 1]."""
    return torch.floor(rgb.sum(1, keepdim=True) / 3 + 0.5) / 255


def decoded_colours(net: ColorNet | ColorUNet, logits: torch.Tensor, gray: torch.Tensor) -> torch.Tensor:
    """RGB ``(N, 3, H, W)``, unclamped, that bin scores ``logits`` ``(N, K, H/4, W/4)`` of ``net`` decode to for gray
    ``(N, 1, H, W)`` in [0, 1]: the annealed mean at the network's temperature and saturation (what validation
    shows), projected onto the channel mean ``gray``; differentiable in ``logits``."""
    chroma = decode_chroma(logits, net.bins, net.temperature, net.saturation)
    return GRAY.project(rgb_from(gray, chroma), gray)


def photo_colours(chroma: torch.Tensor, gray: torch.Tensor) -> torch.Tensor:
    """RGB ``(N, 3, H, W)`` of a photo's quarter-resolution chroma ``(N, 2, H/4, W/4)`` on gray ``(N, 1, H, W)``:
    upsampled as :func:`decoded_colours` upsamples the network's, so a discriminator cannot tell the photo by
    chroma detail finer than the network can paint, and projected onto the channel mean ``gray``."""
    upsampled = F.interpolate(chroma, scale_factor=DOWN, mode="bilinear", align_corners=False)
    return GRAY.project(rgb_from(gray, upsampled), gray)


def validate_colorize(model: torch.nn.Module, images: list[torch.Tensor], multiple: int) -> tuple[float, float]:
    """Mean PSNR (RGB, rounded 8-bit output) against colour originals ``(1, 3, H, W)`` in [0, 255],
    and mean colourfulness ratio; inputs are padded to a ``multiple`` of pixels."""
    scores, ratios = [], []
    for rgb in images:
        gray = mean_gray(rgb)
        height, width = gray.shape[-2:]
        with torch.inference_mode():
            estimate = model(pad_to_multiple(gray, multiple))[..., :height, :width]
        rounded = (estimate.clamp(0, 1) * 255).round()
        scores.append(psnr(rounded, rgb, 255.0))
        ratios.append(colourfulness(rounded[0]) / colourfulness(rgb[0]))
    return sum(scores) / len(scores), sum(ratios) / len(ratios)


def colour_originals(files: list[Path]) -> list[torch.Tensor]:
    """The colour images among ``files`` as ``(1, 3, H, W)`` float in [0, 255] (gray ones left out)."""
    colours = (read_picture(path).color for path in files)
    return [color.unsqueeze(0).float() for color in colours if has_colour(color)]


def calibrate_decoding(
    net: ColorNet | ColorUNet, files: list[Path], margin: float = CALIBRATION_MARGIN_DB
) -> tuple[float, float, dict[str, list[float]]]:
    """``(temperature, saturation, table)``: the decoding :func:`choose_decoding` picks from the grid's mean PSNR
    (RGB, 8-bit) and colourfulness on ``files``. ``table`` maps ``"T,S"`` to ``[psnr, colourfulness]``,
    ``"gray"`` to the gray copy's and ``"originals"`` to ``[colourfulness]`` of the originals."""
    images = colour_originals(files)
    if not images:
        raise ValueError("no colour image to calibrate on")
    grays = [mean_gray(rgb) for rgb in images]
    gray_scores = [psnr(g.expand(-1, 3, -1, -1) * 255, rgb, 255.0) for g, rgb in zip(grays, images, strict=True)]
    gray_psnr = sum(gray_scores) / len(images)
    originals = sum(colourfulness(rgb[0]) for rgb in images) / len(images)
    table: dict[str, list[float]] = {"gray": [gray_psnr, 0.0], "originals": [originals]}
    with torch.inference_mode():  # the scores do not depend on the decoding: one pass of the network per image
        logits = [net.logits(pad_to_multiple(g, net.input_multiple)) for g in grays]
        for temperature in CALIBRATION_TEMPERATURES:
            chromas = [
                decode_chroma(scores, net.bins, torch.tensor(temperature), torch.tensor(1.0))[
                    ..., : g.shape[-2], : g.shape[-1]
                ]
                for scores, g in zip(logits, grays, strict=True)
            ]
            for saturation in CALIBRATION_SATURATIONS:
                scores, colours = [], []
                for gray, chroma, rgb in zip(grays, chromas, images, strict=True):
                    out = (rgb_from(gray, saturation * chroma).clamp(0, 1) * 255).round()
                    scores.append(psnr(out, rgb, 255.0))
                    colours.append(colourfulness(out[0]))
                table[f"{temperature},{saturation}"] = [sum(scores) / len(scores), sum(colours) / len(colours)]
    temperature, saturation = choose_decoding(table, margin)
    return temperature, saturation, table


def choose_decoding(
    table: dict[str, list[float]], margin: float, max_ratio: float = CALIBRATION_MAX_RATIO
) -> tuple[float, float]:
    """``(temperature, saturation)`` of a calibration ``table`` (``"T,S"`` → ``[psnr, colourfulness]``, ``"gray"`` →
    the gray copy's, ``"originals"`` → ``[colourfulness]``): of those whose PSNR is at least ``margin`` dB over the gray
    copy's, the most colourful up to ``max_ratio`` times the originals' colourfulness (the least colourful where all
    are above it; no limit without ``"originals"``); the best PSNR if none has the margin.

    Example:
        >>> table = {"gray": [20.0, 0.0], "0.4,1.0": [20.3, 30.0], "0.7,0.8": [20.6, 20.0], "1.0,0.5": [20.9, 10.0]}
        >>> choose_decoding(table, 0.0), choose_decoding(table, 0.5), choose_decoding(table, 2.0)
        ((0.4, 1.0), (0.7, 0.8), (1.0, 0.5))
        >>> choose_decoding(table | {"originals": [30.0]}, 0.0), choose_decoding(table | {"originals": [10.0]}, 0.0)
        ((0.7, 0.8), (1.0, 0.5))
    """
    grid = {key: value for key, value in table.items() if key not in ("gray", "originals")}
    passing = [key for key, (score, _) in grid.items() if score >= table["gray"][0] + margin]
    if not passing:
        best = max(grid, key=lambda k: grid[k][0])
    else:
        limit = max_ratio * table["originals"][0] if "originals" in table else math.inf
        below = [key for key in passing if grid[key][1] <= limit]
        best = max(below, key=lambda k: grid[k][1]) if below else min(passing, key=lambda k: grid[k][1])
    temperature, saturation = (float(v) for v in best.split(","))
    return temperature, saturation


class ColorizeTask(Task):
    """The rounded channel mean in, chroma bins scored at quarter resolution against soft targets,
    each pixel weighted by the rarity of its colour (with ``--adv-weight``, against a discriminator too: the
    critic ``d``); the decoding is calibrated after the run."""

    curve = "colorize"
    title = "validation PSNR (RGB)"
    y_label = "dB"

    def __init__(self, config: ColorizeTrainConfig) -> None:
        self.config = config
        self.min_side = config.patch
        self.terms: dict[str, list[float]] = {"cls": [], "adv": []} if config.adv_weight else {}
        self.columns = (*self.terms, "val_colourfulness_ratio") if config.adv_weight else ()

    def prepare(self, images: list[torch.Tensor], val_files: list[Path], report: Report) -> None:
        self.images = images
        self.val_images = colour_originals(val_files)
        self.calibration_files = validation_files(self.config.calibrate or self.config.val)

    def build_net(self) -> nn.Module:
        network = NETWORKS[self.config.arch]
        return network(self.config.num_feat, self.config.num_conv, chroma_grid(), self.config.temperature)

    def wrap(self, net: nn.Module) -> nn.Module:
        assert isinstance(net, ColorNet | ColorUNet)
        self.net = net
        self.weights = rebalancing_weights(self.images, net.bins, self.config.rebalance)
        self.model = PDWrapper(net, GRAY)
        self.discriminator = UNetDiscriminatorSN(4, self.config.d_feat) if self.config.adv_weight else None
        return self.model

    def critics(self) -> dict[str, nn.Module]:
        return {} if self.discriminator is None else {"d": self.discriminator}

    def draw_batch(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The rounded gray ``(N, 1, P, P)`` and the photo ``(N, 3, P, P)``, both in [0, 1]."""
        rgb = sample_batch(self.images, generator, self.config.batch, self.config.patch)
        return mean_gray(rgb), rgb / 255

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        chroma = chroma_of(F.avg_pool2d(targets, DOWN))
        logits = self.net.logits(inputs)
        soft = soft_targets(chroma, self.net.bins, self.config.sigma)
        pixel_weights = self.weights[nearest_bins(chroma, self.net.bins)]
        classification = -((soft * torch.log_softmax(logits, dim=1)).sum(1) * pixel_weights).mean()
        if self.discriminator is None:
            return classification
        fake = torch.cat([inputs, decoded_colours(self.net, logits, inputs)], 1)
        self.real = torch.cat([inputs, photo_colours(chroma, inputs)], 1)
        if self.config.d_resolution == "quarter":
            fake, self.real = F.avg_pool2d(fake, DOWN), F.avg_pool2d(self.real, DOWN)
        self.fake = fake.detach()  # for the discriminator's step
        self.discriminator.requires_grad_(False)  # the network's step leaves the discriminator's gradients alone
        try:
            fake_logits = self.discriminator(fake)
            with torch.no_grad():
                real_logits = self.discriminator(self.real)
        finally:
            self.discriminator.requires_grad_(True)
        adversarial = relativistic_losses(real_logits, fake_logits)[1]
        self.terms["cls"].append(classification.item())
        self.terms["adv"].append(adversarial.item())
        return classification + self.config.adv_weight * adversarial

    def critic_loss(self, name: str) -> torch.Tensor:
        assert self.discriminator is not None
        return relativistic_losses(self.discriminator(self.real), self.discriminator(self.fake))[0]

    def loss_terms(self) -> dict[str, float]:
        return drained_means(self.terms)

    def validate(self) -> dict[str, float]:
        if not self.val_images:
            return {}
        value, ratio = validate_colorize(self.model, self.val_images, self.net.input_multiple)
        return {"val_psnr_y": value, "val_colourfulness_ratio": ratio}

    def header(self, row: dict[str, str]) -> dict[str, str]:
        ratio = row.get("val_colourfulness_ratio", "nan")
        return {"task": "colorize", "pd": "true", "val_psnr": row["val_psnr_y"], "val_colourfulness_ratio": ratio}

    def finish(self, net: nn.Module, out: Path, report: Report) -> None:
        """Calibrate the decoding on ``--calibrate`` (default ``--val``) and rewrite the weights with it."""
        calibration = self.config.calibrate or self.config.val
        if not calibration:
            return
        self.net.load_state_dict(load_file(str(out)))  # what was exported: the weight average, with --ema
        report({"calibrated": recalibrate(self.net, out, calibration, self.calibration_files)})


def recalibrate(net: ColorNet | ColorUNet, out: Path, calibration: Path, files: list[Path]) -> str:
    """Calibrate ``net``'s decoding on ``files`` (of the folder ``calibration``), set it and rewrite the checkpoint
    ``out`` with it, its other header entries kept; a line that says what was chosen."""
    temperature, saturation, table = calibrate_decoding(net, files)
    net.temperature.fill_(temperature)
    net.saturation.fill_(saturation)
    psnr_db, colour = table[f"{temperature},{saturation}"]
    gray_db, ratio = table["gray"][0], colour / table["originals"][0]
    metadata = read_metadata(out) | {
        "calibration_set": calibration.name,
        "calibration": json.dumps({key: [round(v, 3) for v in value] for key, value in table.items()}),
    }
    kept = {k: v for k, v in metadata.items() if k not in ("format", "arch", "config")}
    save_checkpoint(out, net, kept)
    return (
        f"temperature {temperature}, saturation {saturation}: PSNR {psnr_db:.2f} dB (gray copy {gray_db:.2f}), "
        f"colourfulness {colour:.1f} ({ratio:.2f}× the originals') on {calibration.name}"
    )


def train_colorize(config: ColorizeTrainConfig, resume: bool, report: Report = print) -> Path:
    """Train (or resume) a ColorNet or ColorUNet; writes weights to ``config.out``."""
    return fit(ColorizeTask(config), config, resume, report)
