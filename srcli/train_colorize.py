"""``srcli train colorize``: a ColorNet trained to classify chroma, with class rebalancing.

A plain L1 (or L2) loss on colours learns the conditional mean, which for most objects is a
washed-out brown (measured here: colourfulness 0.18 of the originals). As in Zhang et al.
2016, the network instead scores chroma bins (soft targets: a Gaussian over the bins around
the true chroma), and each pixel's loss is weighted by how rare its colour is in the training
data (``w ∝ 1 / ((1 − λ) p + λ / K)``), so saturated colours are not drowned by gray ones.
Gray is the channel mean, which the network cannot change: it only chooses chroma, the null
space of ``Gray("mean")``, and PD keeps the input gray exactly.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from srcli.archs.colornet import DOWN, ColorNet, chroma_grid, chroma_of
from srcli.evaluate import image_files
from srcli.imageio import read_picture
from srcli.metrics import colourfulness, psnr
from srcli.models import PDWrapper, save_checkpoint
from srcli.ops import Gray, pad_to_multiple
from srcli.plot import line_chart
from srcli.train import Task, fit, initialize, load_training_images, sample_batch, start_state


@dataclass
class ColorizeTrainConfig:
    data: Path
    out: Path
    run_dir: Path
    val: Path | None = None
    num_feat: int = 32
    num_conv: int = 8
    temperature: float = 0.4
    sigma: float = 0.04
    rebalance: float = 0.5
    steps: int = 4000
    minutes: float | None = None
    stop_at: int | None = None
    init: Path | None = None
    batch: int = 32
    patch: int = 64
    lr: float = 5e-4
    lr_min: float = 1e-5
    seed: int = 0
    val_every: int = 250

    def command_line(self) -> str:
        """The ``srcli train colorize`` command that makes this run (recorded in the weights' header)."""
        words = ["srcli", "train", "colorize", "--data", str(self.data)]
        if self.val:
            words += ["--val", str(self.val)]
        if self.init:
            words += ["--init", str(self.init)]
        words += ["--out", str(self.out), "--num-feat", str(self.num_feat), "--num-conv", str(self.num_conv)]
        words += ["--temperature", str(self.temperature), "--sigma", str(self.sigma)]
        words += ["--rebalance", str(self.rebalance), "--steps", str(self.steps), "--batch", str(self.batch)]
        words += ["--patch", str(self.patch), "--lr", str(self.lr), "--seed", str(self.seed)]
        return shlex.join([*words, "--val-every", str(self.val_every)])

    def schedule_key(self) -> dict[str, object]:
        """What must match for a checkpoint to be resumed."""
        keys = ("num_feat", "num_conv", "sigma", "rebalance", "steps", "batch", "patch", "lr", "lr_min", "seed")
        return {name: getattr(self, name) for name in keys} | ({"init": str(self.init)} if self.init else {})


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


def validate_colorize(model: torch.nn.Module, files: list[Path]) -> tuple[float, float]:
    """Mean PSNR (RGB, rounded 8-bit output) against the colour originals and mean colourfulness ratio."""
    scores, ratios = [], []
    for path in files:
        picture = read_picture(path)
        rgb = picture.color.unsqueeze(0).float()
        gray = torch.floor(rgb.sum(1, keepdim=True) / 3 + 0.5) / 255
        height, width = gray.shape[-2:]
        with torch.inference_mode():
            estimate = model(pad_to_multiple(gray, DOWN))[..., :height, :width]
        rounded = (estimate.clamp(0, 1) * 255).round()
        scores.append(psnr(rounded, rgb, 255.0))
        ratios.append(colourfulness(rounded[0]) / max(colourfulness(rgb[0]), 1e-6))
    return sum(scores) / len(scores), sum(ratios) / len(ratios)


def train_colorize(config: ColorizeTrainConfig, resume: bool, report=print) -> Path:
    """Train (or resume) a ColorNet; writes weights to ``config.out``."""
    torch.manual_seed(config.seed)
    net = ColorNet(config.num_feat, config.num_conv, chroma_grid(), config.temperature)
    if config.init:
        net.load_state_dict(load_file(str(config.init)), strict=True)
    else:
        initialize(net)
    model = PDWrapper(net, Gray("mean"))
    optimizer, step, seconds = start_state(config, net, resume)
    images = load_training_images(config.data, config.patch)
    weights = rebalancing_weights(images, net.bins, config.rebalance)
    val_files = image_files(config.val) if config.val else []
    last_ratio = [float("nan")]  # colourfulness of the latest validation, against the originals

    def draw_batch(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        rgb = sample_batch(images, generator, config.batch, config.patch) / 255
        gray = torch.floor(rgb.sum(1, keepdim=True) * (255 / 3) + 0.5) / 255
        return gray, chroma_of(F.avg_pool2d(rgb, DOWN))

    def loss(gray: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
        log_probabilities = torch.log_softmax(net.logits(gray), dim=1)
        targets = soft_targets(chroma, net.bins, config.sigma)
        pixel_weights = weights[nearest_bins(chroma, net.bins)]
        return -((targets * log_probabilities).sum(1) * pixel_weights).mean()

    def validate() -> float:
        value, last_ratio[0] = validate_colorize(model, val_files)
        return value

    def export(step: int, row: dict[str, str]) -> None:
        metadata = {
            "task": "colorize",
            "pd": "true",
            "data": config.data.name,
            "steps": str(step),
            "train_seconds": row["seconds"],
            "val_psnr": row["val_psnr_y"],
            "val_colourfulness_ratio": f"{last_ratio[0]:.4f}",
            "command": config.command_line(),
        }
        save_checkpoint(config.out, net, metadata)

    def plot(rows: list[dict[str, str]]) -> None:
        points = [(float(r["step"]), float(r["val_psnr_y"])) for r in rows if r["val_psnr_y"] != "nan"]
        line_chart([("colorize", points)], config.run_dir / "convergence.png", "validation PSNR (RGB)", "step", "dB")

    task = Task(
        net=net,
        model=model,
        draw_batch=draw_batch,
        loss=loss,
        validate=validate if val_files else None,
        export=export,
        plot=plot,
    )
    fit(task, config, optimizer, step, seconds, report)
    return config.out
