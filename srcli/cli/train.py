"""``srcli train sr|cs|colorize``: how the shipped weights were made (PD inside the forward pass)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from srcli.cli import report
from srcli.cli.common import Threads, fail

train_app = typer.Typer(
    help="Train the networks srcli ships (PD inside the forward pass).", no_args_is_help=True, rich_markup_mode=None
)

C = TypeVar("C")

TrainData = Annotated[Path, typer.Option(help="Folder of training images.")]
TrainOut = Annotated[Path, typer.Option(help="Where to write the weights (.safetensors).")]
TrainVal = Annotated[Path | None, typer.Option(help="Folder of validation images (PSNR every --val-every steps).")]
RunDir = Annotated[
    Path | None, typer.Option(help="Folder for state, log.csv and convergence.png [default: runs/<out stem>].")
]
Steps = Annotated[int, typer.Option(help="Length of the cosine schedule, in steps.")]
Minutes = Annotated[float | None, typer.Option(help="Stop after this many minutes (resume later).")]
StopAt = Annotated[int | None, typer.Option(help="Stop (and checkpoint) at this step; resume later.")]
Init = Annotated[
    Path | None,
    typer.Option(help="Start from these weights (a new schedule) instead of a fresh initialisation."),
]
Batch = Annotated[int, typer.Option(help="Patches per step.")]
LearningRate = Annotated[float, typer.Option(help="Peak learning rate (Adam).")]
Seed = Annotated[int, typer.Option(help="Seed for initialisation and sampling.")]
ValEvery = Annotated[int, typer.Option(help="Validate, log and checkpoint every N steps.")]
Resume = Annotated[bool, typer.Option(help="Continue from the run folder's state.")]
Ema = Annotated[
    float | None,
    typer.Option(
        help="Validate and export an exponential moving average of the weights with this decay (0.999: "
        "about the last 1000 steps). Training itself is unchanged, so it can be added when resuming."
    ),
]


class Loss(str, Enum):
    """The pixel loss of ``srcli train sr``."""

    l1 = "l1"
    mse = "mse"
    l1_luma = "l1-luma"


def _training_config(config_class: type[C], parameters: dict[str, Any]) -> C:
    """A training configuration from a command's parameters (those it has a field for);
    ``run_dir`` defaults to ``runs/<out stem>``."""
    names = {field.name for field in dataclasses.fields(config_class)}  # type: ignore[arg-type]
    values = {name: value for name, value in parameters.items() if name in names}
    values["run_dir"] = values.get("run_dir") or Path("runs") / values["out"].stem
    return config_class(**values)


def _echo_row(row: dict[str, str]) -> None:
    """Print one training log row on stderr."""
    report.note(", ".join(f"{key}={value}" for key, value in row.items()))


LIMITS = {
    "steps": (1, None),
    "val_every": (1, None),
    "stop_at": (0, None),
    "batch": (1, 4096),
    "patch": (1, 4096),
    "num_feat": (1, 1024),
    "num_conv": (1, 256),
    "rebalance": (0, 1),
}
"""Integer (and bounded) options: the lowest and highest values a run can use (None: no bound)."""
POSITIVE = ("lr", "minutes", "temperature", "sigma")
"""Float options that must be above zero; every float is also finite (the error boundary)."""


def _check_ranges(parameters: dict[str, Any]) -> None:
    """Refuse, before any data is read or network built, option values no training run can use."""
    from srcli.ops import MAX_SCALE, MIN_SCALE

    for name, (low, high) in LIMITS.items():
        value = parameters.get(name)
        if value is not None and (value < low or (high is not None and value > high)):
            bounds = f"at least {low}" if high is None else f"in [{low}, {high}]"
            fail(f"--{name.replace('_', '-')} must be {bounds}, got {value}")
    for name in POSITIVE:
        if parameters.get(name) is not None and parameters[name] <= 0:
            fail(f"--{name} must be positive, got {parameters[name]}")
    if "ratio" in parameters and not 0 < parameters["ratio"] <= 1:
        fail(f"--ratio must be in (0, 1], got {parameters['ratio']}")
    if "scale" in parameters and not MIN_SCALE <= parameters["scale"] <= MAX_SCALE:
        fail(f"--scale must be an integer in [{MIN_SCALE}, {MAX_SCALE}], got {parameters['scale']}")


def _train(config_class: type[C], train: Callable[..., object], parameters: dict[str, Any]) -> None:
    """Run ``train`` on the configuration built from a command's parameters, on ``--threads`` CPU threads."""
    import torch

    _check_ranges(parameters)
    if parameters["threads"]:
        torch.set_num_threads(parameters["threads"])
    config = _training_config(config_class, parameters)
    train(config, resume=parameters["resume"], report=_echo_row)


@train_app.command("sr")
def train_sr_command(
    scale: Annotated[int, typer.Option(help="Upscaling factor.")],
    data: TrainData,
    out: TrainOut,
    val: TrainVal = None,
    run_dir: RunDir = None,
    arch: Annotated[str, typer.Option(help="Architecture.")] = "compact",
    num_feat: Annotated[int, typer.Option(help="Feature channels.")] = 48,
    num_conv: Annotated[int, typer.Option(help="Body convolutions.")] = 16,
    steps: Steps = 20000,
    minutes: Minutes = None,
    stop_at: StopAt = None,
    init: Annotated[
        Path | None,
        typer.Option(
            help="Start from these weights (a new schedule). A compact net of a scale dividing --scale "
            "(x4 for x8) is widened: training starts from its output, nearest-upsampled. One with fewer "
            "--num-conv is deepened by identity layers: training starts from its output."
        ),
    ] = None,
    batch: Batch = 16,
    patch: Annotated[int, typer.Option(help="LR patch side in pixels.")] = 32,
    lr: LearningRate = 5e-4,
    pd: Annotated[bool, typer.Option("--pd/--no-pd", help="Train through the PD projection.")] = True,
    loss: Annotated[
        Loss,
        typer.Option(
            help="Pixel loss: l1, mse (the squared error PSNR measures), or l1-luma (L1 on BT.601 luma, "
            "which PSNR-Y scores, plus a quarter of the RGB L1)."
        ),
    ] = Loss.l1,
    rescale: Annotated[
        list[float] | None,
        typer.Option(
            help="Also train on every photo resized by this factor in (0, 1), Lanczos (repeat for more "
            "factors: --rescale 0.8 --rescale 0.6). Patches are drawn uniformly over photos and copies."
        ),
    ] = None,
    teacher: Annotated[
        Path | None,
        typer.Option(
            help="Train towards these x--scale weights' self-ensemble (8 flips and transposes, PD-projected) "
            "instead of the HR patch: distillation, usually from the --init weights. The teacher runs once on "
            "every whole training photo before the first step (and again on --resume)."
        ),
    ] = None,
    seed: Seed = 0,
    val_every: ValEvery = 500,
    ema: Ema = None,
    threads: Threads = None,
    resume: Resume = False,
) -> None:
    """Train a super-resolution network on box-downsampled patches, L1 (or MSE) loss on the PD output."""
    from srcli.train.sr import SRTrainConfig, train_sr

    _train(SRTrainConfig, train_sr, locals() | {"loss": loss.value, "rescales": tuple(rescale or ())})


@train_app.command("cs")
def train_cs_command(
    ratio: Annotated[float, typer.Option(help="Sampling ratio the network reconstructs.")],
    data: TrainData,
    out: TrainOut,
    val: TrainVal = None,
    run_dir: RunDir = None,
    sensing_seed: Annotated[int, typer.Option(help="Seed of the sensing rows the model is fitted to.")] = 0,
    num_feat: Annotated[int, typer.Option(help="Refiner feature channels.")] = 32,
    num_conv: Annotated[int, typer.Option(help="Refiner body convolutions.")] = 8,
    steps: Steps = 6000,
    minutes: Minutes = None,
    stop_at: StopAt = None,
    init: Init = None,
    batch: Batch = 16,
    patch: Annotated[int, typer.Option(help="Patch side in pixels (a multiple of 32).")] = 96,
    lr: LearningRate = 5e-4,
    pd: Annotated[bool, typer.Option("--pd/--no-pd", help="Train through the PD projection.")] = True,
    seed: Seed = 0,
    val_every: ValEvery = 250,
    ema: Ema = None,
    threads: Threads = None,
    resume: Resume = False,
) -> None:
    """Train a compressed-sensing network: linear stage started at the LMMSE estimate of the
    training blocks, half-resolution refiner, L1 loss on the PD output."""
    from srcli.train.cs import CSTrainConfig, train_cs

    _train(CSTrainConfig, train_cs, locals())


@train_app.command("colorize")
def train_colorize_command(
    data: TrainData,
    out: TrainOut,
    val: TrainVal = None,
    run_dir: RunDir = None,
    num_feat: Annotated[int, typer.Option(help="Feature channels.")] = 32,
    num_conv: Annotated[int, typer.Option(help="Body convolutions.")] = 8,
    calibrate: Annotated[
        Path | None,
        typer.Option(help="Colour images to calibrate temperature and saturation on [default: --val]."),
    ] = None,
    temperature: Annotated[float, typer.Option(help="Annealed-mean temperature for validation.")] = 0.4,
    sigma: Annotated[float, typer.Option(help="Width of the soft chroma targets.")] = 0.04,
    rebalance: Annotated[float, typer.Option(help="Mix of uniform in the class rebalancing (0 = full).")] = 0.5,
    steps: Steps = 4000,
    minutes: Minutes = None,
    stop_at: StopAt = None,
    init: Init = None,
    batch: Batch = 32,
    patch: Annotated[int, typer.Option(help="Patch side in pixels (a multiple of 4).")] = 64,
    lr: LearningRate = 5e-4,
    seed: Seed = 0,
    val_every: ValEvery = 250,
    ema: Ema = None,
    threads: Threads = None,
    resume: Resume = False,
) -> None:
    """Train a colorization network: chroma classified at quarter resolution with rebalanced soft
    targets; gray comes from the input through PD, so only chroma is learned. At the end the
    decoding (temperature, saturation) is calibrated on --calibrate: the most colourful that
    still beats the gray copy's PSNR."""
    from srcli.train.colorize import ColorizeTrainConfig, train_colorize

    if patch % 4:
        fail(f"--patch must be a multiple of 4, got {patch}")
    _train(ColorizeTrainConfig, train_colorize, locals())
