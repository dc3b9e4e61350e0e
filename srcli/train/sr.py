"""``srcli train sr``: an SR network trained with PD inside the forward pass.

HR patches with random flips and transposes, LR by the box average the upscaler inverts, L1
loss (or MSE, ``--loss mse``, which PSNR measures, or ``--loss l1-luma``, weighted towards the
BT.601 luma the benchmarks score) on the projected output, against the HR patch or a teacher's
self-ensemble (``--teacher``, :mod:`srcli.train.teacher`); the loop itself (schedule, resume, logs) is
:mod:`srcli.train.loop`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from srcli.archs.compact import deepen_compact, is_compact, widen_compact_scale
from srcli.checkpoint import build_network, save_checkpoint
from srcli.errors import TrainError
from srcli.evaluate import Upscaler, evaluate_sr
from srcli.metrics import Y_WEIGHTS
from srcli.ops import CORRECTIONS, AvgPool, PDWrapper
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
from srcli.train.teacher import load_teacher, weights_digest, with_targets


@dataclass(kw_only=True)
class SRTrainConfig(TrainRun):
    scale: int
    arch: str = "compact"
    num_feat: int = 48
    num_conv: int = 16
    pd: bool = True
    correction: str = "nearest"  # the right inverse PD corrects with (srcli.ops.CORRECTIONS)
    loss: str = "l1"
    rescales: tuple[float, ...] = ()
    teacher: Path | None = None
    teacher_sha256: str = field(default="", init=False)  # of the file as the run found it

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.correction not in CORRECTIONS:
            raise TrainError(f"--correction must be one of {', '.join(CORRECTIONS)}, got {self.correction!r}")
        if self.loss not in LOSSES:
            raise TrainError(f"--loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        self.rescales = tuple(self.rescales)
        if any(not 0 < factor < 1 for factor in self.rescales):
            raise TrainError(f"--rescale factors must be in (0, 1), got {', '.join(map(str, self.rescales))}")
        if self.teacher is not None:
            if not self.teacher.is_file():
                raise TrainError(f"teacher weights not found: {self.teacher}")
            self.teacher_sha256 = weights_digest(self.teacher)

    def network_config(self) -> dict[str, int]:
        return {"in_ch": 3, "num_feat": self.num_feat, "num_conv": self.num_conv, "scale": self.scale}

    def command_line(self) -> str:
        """The ``srcli train sr`` command that makes this run (recorded in the weights' header)."""
        words = ["srcli", "train", "sr", "--scale", str(self.scale), "--data", str(self.data)]
        if self.val:
            words += ["--val", str(self.val)]
        if self.init:
            words += ["--init", str(self.init)]
        words += [
            "--out",
            str(self.out),
            "--arch",
            self.arch,
            "--num-feat",
            str(self.num_feat),
            "--num-conv",
            str(self.num_conv),
            "--steps",
            str(self.steps),
            "--batch",
            str(self.batch),
            "--patch",
            str(self.patch),
            "--lr",
            str(self.lr),
            "--pd" if self.pd else "--no-pd",
            "--seed",
            str(self.seed),
            "--val-every",
            str(self.val_every),
            *self.average_words(),
            *(["--correction", self.correction] if self.correction != "nearest" else []),
            *(["--loss", self.loss] if self.loss != "l1" else []),
            *(word for factor in self.rescales for word in ("--rescale", str(factor))),
            *(["--teacher", str(self.teacher)] if self.teacher else []),
        ]
        return shlex.join(words)

    def schedule_key(self) -> dict[str, object]:
        """What must match for a checkpoint to be resumed."""
        keys = ("scale", "arch", "num_feat", "num_conv", "steps", "batch", "patch", "lr", "lr_min", "pd", "seed")
        key = {name: getattr(self, name) for name in keys}
        key |= {"init": str(self.init)} if self.init else {}
        key |= {"correction": self.correction} if self.correction != "nearest" else {}
        key |= {"loss": self.loss} if self.loss != "l1" else {}  # runs from before --loss resume
        key |= {"rescales": list(self.rescales)} if self.rescales else {}  # and from before --rescale
        return key | ({"teacher": self.teacher_sha256} if self.teacher else {})  # its content, not its path


LUMA_WEIGHTS = torch.tensor(Y_WEIGHTS) / 255  # Y - 16 in [0, 219/255] for RGB in [0, 1]
CHROMA_SHARE = 0.25  # of the RGB L1 kept in l1-luma, so that colour stays anchored


def luma_l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 on BT.601 luma plus a quarter of the RGB L1, for ``(N, 3, H, W)`` in [0, 1]: the error
    the PSNR-Y protocol scores weighs most, and a colour error that leaves luma unchanged still costs."""
    weights = LUMA_WEIGHTS.to(output).view(1, 3, 1, 1)
    luma_error = F.l1_loss((output * weights).sum(dim=1), (target * weights).sum(dim=1))
    return luma_error + CHROMA_SHARE * F.l1_loss(output, target)


LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss, "l1-luma": luma_l1}


def box_lr(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The 8-bit LR that ``Image.reduce`` makes: box mean rounded half up, in [0, 255]."""
    return torch.floor(F.avg_pool2d(hr, scale) + 0.5)


def rounded_upscaler(model: nn.Module) -> Upscaler:
    """The model as an :data:`~srcli.evaluate.Upscaler`: uint8 LR in, its output rounded to uint8 out."""

    def upscale(lr: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return (model(lr.float() / 255).clamp(0, 1) * 255).round().to(torch.uint8)

    return upscale


def validate(model: nn.Module, files: list[Path], scale: int) -> float:
    """Mean Set5-style PSNR-Y of the model's rounded output (protocol of shared/README.md)."""
    scores = evaluate_sr(rounded_upscaler(model), files, scale, with_ssim=False)
    return sum(s.psnr_y for s in scores) / len(scores)


def load_initial_weights(net: nn.Module, config: SRTrainConfig) -> None:
    """Load ``config.init`` into ``net``; a compact checkpoint of a scale dividing ``config.scale``
    is widened, one with fewer convolutions deepened, both without changing what it computes
    (:func:`srcli.archs.compact.widen_compact_scale`, :func:`srcli.archs.compact.deepen_compact`)."""
    state_dict = load_file(str(config.init))
    try:
        if config.arch == "compact" and is_compact(state_dict):
            state_dict = deepen_compact(widen_compact_scale(state_dict, config.scale), config.num_conv)
        net.load_state_dict(state_dict, strict=True)
    except (ValueError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[-1].strip()  # torch's last line names the tensor
        raise TrainError(f"--init {config.init} does not fit this network: {reason}") from error


def train_sr(config: SRTrainConfig, resume: bool, report: Callable[[dict[str, str]], None] = print) -> Path:
    """Train (or resume) an SR network; writes weights to ``config.out`` and returns its path."""
    torch.manual_seed(config.seed)
    net = build_network(config.arch, config.network_config())
    if resuming(config, resume):
        pass  # the checkpoint replaces the weights; the --init file is not read
    elif config.init:
        load_initial_weights(net, config)
    else:
        initialize(net)
    net.to(memory_format=torch.channels_last)  # measured: 1.3x faster steps on a 2-core AVX2 CPU
    model = PDWrapper(net, AvgPool(config.scale, config.correction)) if config.pd else net
    teacher = load_teacher(config.teacher, config.scale) if config.teacher else None
    optimizer, step, seconds = start_state(config, net, resume)
    hr_patch = config.patch * config.scale
    val_files = validation_files(config.val)
    images = load_training_images(config.data, hr_patch, config.rescales)
    if teacher is not None:
        images = with_targets(teacher, images, config.scale, report)

    def draw_batch(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        patches = sample_batch(images, generator, config.batch, hr_patch, align=config.scale if config.teacher else 1)
        lr = (box_lr(patches[:, :3], config.scale) / 255).contiguous(memory_format=torch.channels_last)
        return lr, patches[:, -3:] / 255  # the HR patch, or the teacher's target stacked under it

    task = Task(
        net=net,
        model=model,
        draw_batch=draw_batch,
        loss=lambda inputs, targets: LOSSES[config.loss](model(inputs), targets),
        validate=(lambda: validate(model, val_files, config.scale)) if val_files else None,
        export=lambda step, row: _export(config, net, step, row),
        curve=f"x{config.scale} {'PD' if config.pd else 'no PD'}",  # ASCII: Pillow's default font has no ×
        title=f"validation PSNR-Y, x{config.scale}",
        y_label="PSNR-Y (dB)",
    )
    fit(task, config, optimizer, step, seconds, report)
    return config.out


def _export(config: SRTrainConfig, net: nn.Module, step: int, row: dict[str, str]) -> None:
    metadata = {
        "task": "sr",
        "scale": str(config.scale),
        "pd": "true" if config.pd else "false",
        "correction": config.correction,
        "data": config.data.name,
        "steps": str(step),
        **config.training_time(row["seconds"]),
        "val_psnr_y": row["val_psnr_y"],
        "command": config.command_line(),
    }
    save_checkpoint(config.out, net, metadata)
