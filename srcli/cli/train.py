"""``srcli train sr|cs|colorize|gan|naturalness|usrnet``: how the shipped weights were made (PD inside the
forward pass)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from srcli.cli import report
from srcli.cli.common import Threads, fail
from srcli.cli.sr import Correction

train_app = typer.Typer(
    help="Train the networks srcli ships (PD inside the forward pass).", no_args_is_help=True, rich_markup_mode=None
)

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
    typer.Option(
        help="Start from these weights (a new schedule) instead of a fresh initialisation; or from another "
        "run's state.safetensors: a warm restart (weights, Adam moments, weight average; a new schedule)."
    ),
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


class Skip(str, Enum):
    """How a compact net upsamples the LR into its skip connection."""

    nearest = "nearest"
    bilinear = "bilinear"


SkipOption = Annotated[
    Skip,
    typer.Option(
        help="The compact net's skip: the LR upsampled nearest (Real-ESRGAN's; what the body misses shows "
        "as a faint s×s block grid) or bilinear (no grid)."
    ),
]


class Loss(str, Enum):
    """The pixel loss of ``srcli train sr``."""

    l1 = "l1"
    mse = "mse"
    l1_luma = "l1-luma"


def _run_dir(run_dir: Path | None, out: Path) -> Path:
    """The run folder: ``--run-dir``, or ``runs/<out stem>``."""
    return run_dir or Path("runs") / out.stem


def _echo_row(row: dict[str, str]) -> None:
    """Print one training log row on stderr, without the measures a task has no value for (a classifier's PSNR)."""
    report.note(", ".join(f"{key}={value}" for key, value in row.items() if value not in ("", "nan")))


def _set_threads(threads: int | None) -> None:
    """Train on ``--threads`` CPU threads (torch's choice without it)."""
    import torch

    if threads:
        torch.set_num_threads(threads)


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


def _check_ranges(config: object) -> None:
    """Refuse, before any data is read or network built, option values no training run can use."""
    from srcli.maths.operators import MAX_SCALE, MIN_SCALE

    for name, (low, high) in LIMITS.items():
        value = getattr(config, name, None)
        if value is not None and (value < low or (high is not None and value > high)):
            bounds = f"at least {low}" if high is None else f"in [{low}, {high}]"
            fail(f"--{name.replace('_', '-')} must be {bounds}, got {value}")
    for name in POSITIVE:
        value = getattr(config, name, None)
        if value is not None and value <= 0:
            fail(f"--{name} must be positive, got {value}")
    ratio, scale = getattr(config, "ratio", None), getattr(config, "scale", None)
    if ratio is not None and not 0 < ratio <= 1:
        fail(f"--ratio must be in (0, 1], got {ratio}")
    if scale is not None and not MIN_SCALE <= scale <= MAX_SCALE:
        fail(f"--scale must be an integer in [{MIN_SCALE}, {MAX_SCALE}], got {scale}")


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
            help="Start from these weights (a new schedule). A compact net of another scale keeps its "
            "body and has its sub-pixel grid resampled: where its scale divides --scale (x4 for x8) "
            "training starts from its output, nearest-upsampled; otherwise (x4 for x3) from its body. "
            "One with fewer --num-conv is deepened by identity layers: training starts from its output."
        ),
    ] = None,
    batch: Batch = 16,
    patch: Annotated[int, typer.Option(help="LR patch side in pixels.")] = 32,
    lr: LearningRate = 5e-4,
    pd: Annotated[bool, typer.Option("--pd/--no-pd", help="Train through the PD projection.")] = True,
    correction: Annotated[
        Correction, typer.Option(help="PD's right inverse: nearest (A⁺) or smooth (bilinear back-projection, no grid).")
    ] = Correction.nearest,
    skip: SkipOption = Skip.nearest,
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
    degradation: Annotated[
        str,
        typer.Option(
            help="The LR it learns to invert: box (s×s mean), bicubic (Pillow's resize, the published tables' "
            "LR), bicubic-matlab or gaussian:σ. The LR of each whole photo is made once, patches are cut in "
            "pairs on the scale grid, the output is projected under that degradation and validated on it."
        ),
    ] = "box",
    jpeg_quality: Annotated[
        list[int] | None,
        typer.Option(
            help="Twice, LOW then HIGH (--jpeg-quality 30 --jpeg-quality 95): save every box LR patch as a JPEG "
            "at a random quality in this range (sampling "
            "4:2:0, 4:4:4 or 4:2:2 per batch), train on what a decoder shows and project the output onto the "
            "file's quantization bins (the JPEG path of srcli upscale)."
        ),
    ] = None,
    seed: Seed = 0,
    val_every: ValEvery = 500,
    ema: Ema = None,
    threads: Threads = None,
    resume: Resume = False,
) -> None:
    """Train a super-resolution network on box-downsampled patches (or --degradation's), L1 (or MSE) loss
    on the PD output."""
    from srcli.train.sr import SRTrainConfig, train_sr

    _set_threads(threads)
    config = SRTrainConfig(
        scale=scale, data=data, out=out, val=val, run_dir=_run_dir(run_dir, out), arch=arch, num_feat=num_feat,
        num_conv=num_conv, steps=steps, minutes=minutes, stop_at=stop_at, init=init, batch=batch, patch=patch,
        lr=lr, pd=pd, correction=correction.value, skip=skip.value, loss=loss.value, rescales=tuple(rescale or ()),
        teacher=teacher, degradation=degradation, seed=seed, val_every=val_every, ema=ema,
        jpeg_quality=tuple(jpeg_quality or ()),
    )  # fmt: skip
    _check_ranges(config)
    train_sr(config, resume=resume, report=_echo_row)


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

    _set_threads(threads)
    config = CSTrainConfig(
        ratio=ratio, data=data, out=out, val=val, run_dir=_run_dir(run_dir, out), sensing_seed=sensing_seed,
        num_feat=num_feat, num_conv=num_conv, steps=steps, minutes=minutes, stop_at=stop_at, init=init,
        batch=batch, patch=patch, lr=lr, pd=pd, seed=seed, val_every=val_every, ema=ema,
    )  # fmt: skip
    _check_ranges(config)
    train_cs(config, resume=resume, report=_echo_row)


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
    _set_threads(threads)
    config = ColorizeTrainConfig(
        data=data, out=out, val=val, run_dir=_run_dir(run_dir, out), calibrate=calibrate, num_feat=num_feat,
        num_conv=num_conv, temperature=temperature, sigma=sigma, rebalance=rebalance, steps=steps,
        minutes=minutes, stop_at=stop_at, init=init, batch=batch, patch=patch, lr=lr, seed=seed,
        val_every=val_every, ema=ema,
    )  # fmt: skip
    _check_ranges(config)
    train_colorize(config, resume=resume, report=_echo_row)


@train_app.command("gan")
def train_gan_command(
    scale: Annotated[int, typer.Option(help="Upscaling factor.")],
    data: TrainData,
    out: TrainOut,
    val: Annotated[
        Path | None,
        typer.Option(help="Folder of validation images (PSNR-Y and detail energy every --val-every steps)."),
    ] = None,
    run_dir: RunDir = None,
    init: Annotated[
        Path | None,
        typer.Option(
            help="Start the generator from these compact SR weights (usually a PSNR-trained net); or from a "
            "gan run's state.safetensors: a warm restart (generator, discriminator, their Adam moments and the "
            "weight average; a new schedule)."
        ),
    ] = None,
    num_feat: Annotated[int, typer.Option(help="Generator (compact) feature channels.")] = 64,
    num_conv: Annotated[int, typer.Option(help="Generator (compact) body convolutions.")] = 8,
    d_feat: Annotated[int, typer.Option(help="Discriminator (U-Net, spectral norm) base channels.")] = 32,
    steps: Steps = 5000,
    minutes: Minutes = None,
    stop_at: StopAt = None,
    batch: Batch = 8,
    patch: Annotated[int, typer.Option(help="LR patch side in pixels (HR side, patch·scale, a multiple of 8).")] = 24,
    lr: Annotated[float, typer.Option(help="Peak learning rate (Adam) of generator and discriminator.")] = 1e-4,
    l1_weight: Annotated[float, typer.Option(help="Weight of the L1 loss to the HR patch.")] = 1.0,
    adv_weight: Annotated[float, typer.Option(help="Weight of the relativistic adversarial loss.")] = 0.02,
    fm_weight: Annotated[float, typer.Option(help="Weight of feature matching on the discriminator.")] = 1.0,
    naturalness: Annotated[
        Path | None,
        typer.Option(
            help="A naturalness discriminator (srcli train naturalness, same --scale), frozen: its verdict "
            "on the output joins the loss, weighted by --nat-weight."
        ),
    ] = None,
    nat_weight: Annotated[float, typer.Option(help="Weight of the naturalness loss (with --naturalness).")] = 1e-3,
    ldl: Annotated[
        float,
        typer.Option(
            help="Weight of LDL's artefact loss (Liang et al. 2022; 0: off, LDL used 1): an L1 to the HR patch "
            "weighted where the output's residual is erratic and the weight average's output is closer. Needs --ema."
        ),
    ] = 0.0,
    correction: Annotated[
        Correction,
        typer.Option(
            help="PD's right inverse inside training: nearest (A⁺, constant per s×s block) or smooth "
            "(bilinear back-projection: no block grid for the texture the generator adds)."
        ),
    ] = Correction.nearest,
    skip: SkipOption = Skip.nearest,
    seed: Seed = 0,
    val_every: Annotated[int, typer.Option(help="Validate, log, checkpoint and export every N steps.")] = 250,
    ema: Ema = None,
    threads: Threads = None,
    resume: Resume = False,
) -> None:
    """Train an adversarial SR generator through PD: the compact net's output, projected to be
    exactly consistent with the LR, against a U-Net discriminator (relativistic average GAN loss),
    with L1 and feature matching. The run keeps its last export (PSNR-Y falls as detail rises)."""
    from srcli.train.gan import GANTrainConfig, train_gan

    _set_threads(threads)
    config = GANTrainConfig(
        scale=scale, data=data, out=out, val=val, run_dir=_run_dir(run_dir, out), init=init, num_feat=num_feat,
        num_conv=num_conv, d_feat=d_feat, steps=steps, minutes=minutes, stop_at=stop_at, batch=batch,
        patch=patch, lr=lr, l1_weight=l1_weight, adv_weight=adv_weight, fm_weight=fm_weight,
        naturalness=naturalness, nat_weight=nat_weight, ldl=ldl, correction=correction.value, skip=skip.value,
        seed=seed, val_every=val_every, ema=ema,
    )  # fmt: skip
    _check_ranges(config)
    train_gan(config, resume=resume, report=_echo_row)


@train_app.command("naturalness")
def train_naturalness_command(
    scale: Annotated[int, typer.Option(help="Upscaling factor whose LR the unnatural copies keep.")],
    data: TrainData,
    out: TrainOut,
    val: Annotated[
        Path | None, typer.Option(help="Folder of validation images (accuracy every --val-every steps).")
    ] = None,
    run_dir: RunDir = None,
    num_feat: Annotated[int, typer.Option(help="Base channels of the classifier.")] = 32,
    steps: Steps = 1500,
    minutes: Minutes = None,
    stop_at: StopAt = None,
    init: Init = None,
    batch: Annotated[int, typer.Option(help="Photos per step (and as many unnatural copies).")] = 16,
    patch: Annotated[int, typer.Option(help="HR patch side in pixels (a multiple of --scale).")] = 96,
    lr: LearningRate = 2e-4,
    blur: Annotated[float, typer.Option(help="Share of the smooth consistent image in a blurred copy.")] = 0.5,
    noise: Annotated[float, typer.Option(help="Standard deviation of the null-space noise of a noisy copy.")] = 0.05,
    seed: Seed = 0,
    val_every: ValEvery = 250,
    ema: Ema = None,
    threads: Threads = None,
    resume: Resume = False,
) -> None:
    """Train a NatSR-style naturalness discriminator: photos against blurred and noisy copies that
    keep their box LR exactly (they differ only where an SR network inside PD chooses), for
    srcli train gan --naturalness."""
    from srcli.train.naturalness import NaturalnessTrainConfig, train_naturalness

    _set_threads(threads)
    config = NaturalnessTrainConfig(
        scale=scale, data=data, out=out, val=val, run_dir=_run_dir(run_dir, out), num_feat=num_feat, steps=steps,
        minutes=minutes, stop_at=stop_at, init=init, batch=batch, patch=patch, lr=lr, blur=blur, noise=noise,
        seed=seed, val_every=val_every, ema=ema,
    )  # fmt: skip
    _check_ranges(config)
    train_naturalness(config, resume=resume, report=_echo_row)


@train_app.command("usrnet")
def train_usrnet_command(
    data: TrainData,
    out: TrainOut,
    val: Annotated[
        Path | None,
        typer.Option(help="Folder of validation images: their centre 240 px under one fixed degradation per scale."),
    ] = None,
    run_dir: RunDir = None,
    iterations: Annotated[int, typer.Option(help="Unfolded iterations (data step + prior step).")] = 6,
    channels: Annotated[str, typer.Option(help="The prior ResUNet's channels at its 4 levels.")] = "16,32,64,64",
    blocks: Annotated[int, typer.Option(help="Residual blocks per level of the prior.")] = 2,
    hyper_feat: Annotated[int, typer.Option(help="Width of the hyper-parameter MLP.")] = 32,
    scales: Annotated[str, typer.Option(help="Scales to train for, one per step (1 is deblurring).")] = "1,2,3,4",
    max_noise: Annotated[float, typer.Option(help="Noise levels drawn up to this (levels; none for 1 in 8).")] = 25.0,
    kernel_size: Annotated[int, typer.Option(help="Side of the random kernels (odd, HR pixels).")] = 25,
    steps: Steps = 6000,
    minutes: Minutes = None,
    stop_at: StopAt = None,
    init: Init = None,
    batch: Batch = 8,
    patch: Annotated[int, typer.Option(help="HR patch side in pixels (a multiple of every scale).")] = 48,
    lr: LearningRate = 2e-4,
    seed: Seed = 0,
    val_every: ValEvery = 200,
    ema: Ema = None,
    threads: Threads = None,
    resume: Resume = False,
) -> None:
    """Train USRNet (deep unfolding: closed-form data step, ResUNet prior, hyper-parameter MLP) for every
    scale in --scales, random blur kernels (Gaussians, motion, bicubic) and noise levels, L1 loss. The
    defaults are USRNet-tiny's sizes (0.59 M parameters); upstream's full model is --iterations 8
    --channels 64,128,256,512 --hyper-feat 64."""
    from srcli.train.usrnet import USRNetTrainConfig, train_usrnet

    _set_threads(threads)
    config = USRNetTrainConfig(
        data=data, out=out, val=val, run_dir=_run_dir(run_dir, out), iterations=iterations, channels=channels,
        blocks=blocks, hyper_feat=hyper_feat, scales=scales, max_noise=max_noise, kernel_size=kernel_size,
        steps=steps, minutes=minutes, stop_at=stop_at, init=init, batch=batch, patch=patch, lr=lr, seed=seed,
        val_every=val_every, ema=ema,
    )  # fmt: skip
    _check_ranges(config)
    train_usrnet(config, resume=resume, report=_echo_row)
