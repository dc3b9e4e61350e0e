"""``srcli train cs``: a CSNet for one sampling ratio, trained through PD.

The initial linear stage starts at the linear minimum-mean-square-error (LMMSE) estimate of
the training blocks, ``x₀ = μ + Σ Aᵀ (A Σ Aᵀ)⁻¹ (y − A μ)`` with the block mean ``μ`` and
covariance ``Σ`` of the training images: the best linear reconstruction for that data, found
in closed form in about a minute (measured here on BSD68: 23.9 / 26.8 / 30.6 dB at ratios
0.1 / 0.25 / 0.5, where ``Aᵀy`` gives 8–11 dB). The refiner starts as the identity, and the
whole network then trains end to end on L1 of the PD output.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from srcli.archs.csnet import CSNet
from srcli.checkpoint import save_checkpoint
from srcli.errors import TrainError
from srcli.imageio import read_picture
from srcli.metrics import psnr
from srcli.ops import BlockCS, PDWrapper, pad_to_multiple
from srcli.train.loop import (
    Task,
    TrainRun,
    fit,
    initialize,
    load_training_images,
    resuming,
    sample_batch,
    start_state,
    validation_files,
)

STATISTICS_OFFSETS = 2
"""Block grids (at random offsets) per training image for the block statistics."""


@dataclass(kw_only=True)
class CSTrainConfig(TrainRun):
    ratio: float
    block: int = 32
    sensing_seed: int = 0
    num_feat: int = 32
    num_conv: int = 8
    steps: int = 6000
    patch: int = 96
    pd: bool = True
    val_every: int = 250

    def command_line(self) -> str:
        """The ``srcli train cs`` command that makes this run (recorded in the weights' header)."""
        words = ["srcli", "train", "cs", "--ratio", str(self.ratio), "--data", str(self.data)]
        if self.val:
            words += ["--val", str(self.val)]
        if self.init:
            words += ["--init", str(self.init)]
        words += ["--out", str(self.out), "--sensing-seed", str(self.sensing_seed)]
        words += ["--num-feat", str(self.num_feat), "--num-conv", str(self.num_conv), "--steps", str(self.steps)]
        words += ["--batch", str(self.batch), "--patch", str(self.patch), "--lr", str(self.lr)]
        words += ["--pd" if self.pd else "--no-pd", "--seed", str(self.seed), "--val-every", str(self.val_every)]
        return shlex.join(words + self.average_words())

    def schedule_key(self) -> dict[str, object]:
        """What must match for a checkpoint to be resumed."""
        keys = ("ratio", "block", "sensing_seed", "num_feat", "num_conv", "steps", "batch", "patch", "lr", "lr_min")
        key = {name: getattr(self, name) for name in (*keys, "pd", "seed")}
        return key | ({"init": str(self.init)} if self.init else {})


def block_statistics(
    images: list[torch.Tensor], block: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(b²,)`` and covariance ``(b², b²)`` (float64, pixels in [0, 1]) of the ``b×b``
    blocks of every channel of ``images`` (each ``(3, H, W)`` uint8), on grids at random offsets."""
    n = block * block
    second, first, count = torch.zeros(n, n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64), 0
    for image in images:
        for _ in range(STATISTICS_OFFSETS):
            top, left = (int(v) for v in torch.randint(block, (2,), generator=generator))
            crop = image[:, top:, left:]
            rows, cols = crop.shape[1] // block, crop.shape[2] // block
            blocks = crop[:, : rows * block, : cols * block].to(torch.float64) / 255
            blocks = blocks.reshape(-1, rows, block, cols, block).permute(0, 1, 3, 2, 4).reshape(-1, n)
            second += blocks.T @ blocks
            first += blocks.sum(0)
            count += blocks.shape[0]
    mean = first / count
    return mean, second / count - torch.outer(mean, mean)


def lmmse_initial(
    mean: torch.Tensor, covariance: torch.Tensor, rows: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight ``(b², M)`` and bias ``(b²,)`` of ``x₀ = W y + c``, the LMMSE estimate from ``y = A x``.

    ``W = Σ Aᵀ (A Σ Aᵀ)⁻¹`` and ``c = μ − W A μ``; then ``A x₀ = y`` for every ``y``.
    """
    cross = covariance @ rows.T  # (b², M)
    weight = torch.linalg.solve(rows @ cross, cross.T).T
    return weight, mean - weight @ (rows @ mean)


def validate_cs(model: nn.Module, files: list[Path], operator: BlockCS) -> float:
    """Mean PSNR (RGB, 8-bit rounded output) of the model's reconstruction of each image."""
    scores = []
    for path in files:
        picture = read_picture(path)
        image = picture.color.unsqueeze(0).float() / picture.max_value
        height, width = image.shape[-2:]
        with torch.inference_mode():
            estimate = model(operator.A(pad_to_multiple(image, operator.block)))[..., :height, :width]
        rounded = (estimate.clamp(0, 1) * 255).round()
        scores.append(psnr(rounded, image * 255, 255.0))
    return sum(scores) / len(scores)


def build_cs_network(config: CSTrainConfig, operator: BlockCS, images: list[torch.Tensor], resume: bool) -> CSNet:
    """A CSNet from ``--init`` weights, or with its linear stage at the LMMSE estimate of ``images``;
    left as built when a checkpoint is resumed (which replaces its weights)."""
    net = CSNet(operator.m, config.block, 3, config.num_feat, config.num_conv)
    if resuming(config, resume):
        return net
    if config.init:
        net.load_state_dict(load_file(str(config.init)), strict=True)
        return net
    initialize(net)
    mean, covariance = block_statistics(images, config.block, torch.Generator().manual_seed(config.seed))
    weight, bias = lmmse_initial(mean, covariance, operator.rows)
    with torch.no_grad():
        net.initial.weight.copy_(weight)
        net.initial.bias.copy_(bias)
    return net


def train_cs(config: CSTrainConfig, resume: bool, report: Callable[[dict[str, str]], None] = print) -> Path:
    """Train (or resume) a CSNet for ``config.ratio``; writes weights to ``config.out``."""
    if config.patch % config.block:
        raise TrainError(f"--patch must be a multiple of the block ({config.block}), got {config.patch}")
    torch.manual_seed(config.seed)
    operator = BlockCS(config.ratio, config.block, config.sensing_seed)
    images = load_training_images(config.data, config.patch)
    net = build_cs_network(config, operator, images, resume)
    model = PDWrapper(net, operator) if config.pd else net
    optimizer, step, seconds = start_state(config, net, resume)
    val_files = validation_files(config.val)

    def draw_batch(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        hr = sample_batch(images, generator, config.batch, config.patch) / 255
        return operator.A(hr), hr

    def export(step: int, row: dict[str, str]) -> None:
        metadata = {
            "task": "cs",
            "ratio": str(config.ratio),
            "block": str(config.block),
            "sensing_seed": str(config.sensing_seed),
            "pd": "true" if config.pd else "false",
            "data": config.data.name,
            "steps": str(step),
            **config.training_time(row["seconds"]),
            "val_psnr": row["val_psnr_y"],
            "command": config.command_line(),
        }
        save_checkpoint(config.out, net, metadata)

    task = Task(
        net=net,
        model=model,
        draw_batch=draw_batch,
        loss=lambda inputs, targets: F.l1_loss(model(inputs), targets),
        validate=(lambda: validate_cs(model, val_files, operator)) if val_files else None,
        export=export,
        curve=f"ratio {config.ratio} {'PD' if config.pd else 'no PD'}",
        title=f"validation PSNR (RGB), ratio {config.ratio}",
        y_label="PSNR RGB (dB)",
    )
    fit(task, config, optimizer, step, seconds, report)
    return config.out
