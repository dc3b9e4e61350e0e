"""``srcli train sr|cs|colorize|gan|naturalness|usrnet``: how the shipped weights were made (PD inside the
forward pass).

Each command's options are its configuration's fields (:mod:`srcli.train.configs`), whose metadata declares
their flags, defaults and help once: :func:`_train_command` makes them the command's Typer signature, then
``--threads`` and ``--resume``, and builds the configuration from what the command line gives."""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar

import typer

from srcli.cli import report
from srcli.cli.common import Threads, fail
from srcli.train.config import TrainRun, negated
from srcli.train.configs.colorize import ColorizeTrainConfig
from srcli.train.configs.cs import CSTrainConfig
from srcli.train.configs.gan import GANTrainConfig
from srcli.train.configs.naturalness import NaturalnessTrainConfig
from srcli.train.configs.sr import SRTrainConfig
from srcli.train.configs.usrnet import USRNetTrainConfig

train_app = typer.Typer(
    help="Train the networks srcli ships (PD inside the forward pass).", no_args_is_help=True, rich_markup_mode=None
)

Resume = Annotated[bool, typer.Option(help="Continue from the run folder's state.")]
COMMAND_LINE_ONLY = [
    inspect.Parameter("threads", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Threads),
    inspect.Parameter("resume", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Resume),
]
"""The options of every training command that are no part of its configuration."""
Config = TypeVar("Config", bound=TrainRun)


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


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A ``Literal`` field's values as an Enum, which Typer shows and checks as the other commands' choices."""
    return Enum(name, [(value, value) for value in values], type=str)  # type: ignore[return-value]


def _typer_option(spec: dataclasses.Field[Any], hint: Any) -> inspect.Parameter:
    """The Typer option of a configuration field: its flag, help and default (None: unset), a ``Literal``
    field's values as choices, a tuple field's items as a repeated option, a boolean's ``--no-`` flag."""
    flag, annotation = spec.metadata["flag"], hint
    default = inspect.Parameter.empty if spec.default is dataclasses.MISSING else spec.default
    if typing.get_origin(hint) is Literal:
        annotation = _choices(spec.name, typing.get_args(hint))
        default = annotation(default)
    elif typing.get_origin(hint) is tuple:
        annotation = types.GenericAlias(list, typing.get_args(hint)[:1])
    elif hint is bool:
        flag = f"{flag}/{negated(flag)}"
    if default is None:
        annotation = annotation | None
    option = typer.Option(flag, help=spec.metadata["help"])
    return inspect.Parameter(
        spec.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[annotation, option]
    )


def _field_value(value: Any) -> Any:
    """What the configuration takes for an option's value: a choice's text, a repeated option's tuple."""
    if isinstance(value, Enum):
        return value.value
    return tuple(value) if isinstance(value, list) else value


def _train_command(
    config_class: type[Config],
) -> Callable[[Callable[[Config, bool], None]], Callable[[Config, bool], None]]:
    """Register ``srcli train <config_class.command>``: the decorated function (its docstring the help) trains
    the configuration the command line makes (``resume``: continue from the run folder's state)."""

    def register(train: Callable[[Config, bool], None]) -> Callable[[Config, bool], None]:
        def command(*, threads: int | None, resume: bool, **options: Any) -> None:
            _set_threads(threads)
            config = config_class(**{name: _field_value(value) for name, value in options.items()})
            _check_ranges(config)
            train(config, resume)

        hints = typing.get_type_hints(config_class)
        options = [_typer_option(spec, hints[spec.name]) for spec in config_class.options()]
        command.__signature__ = inspect.Signature([*options, *COMMAND_LINE_ONLY])  # type: ignore[attr-defined]
        command.__doc__ = train.__doc__
        train_app.command(config_class.command)(command)
        return train

    return register


@_train_command(SRTrainConfig)
def train_sr_command(config: SRTrainConfig, resume: bool) -> None:
    """Train a super-resolution network on box-downsampled patches (or --degradation's), L1 (or MSE) loss
    on the PD output."""
    from srcli.train.sr import train_sr

    train_sr(config, resume=resume, report=_echo_row)


@_train_command(CSTrainConfig)
def train_cs_command(config: CSTrainConfig, resume: bool) -> None:
    """Train a compressed-sensing network: linear stage started at the LMMSE estimate of the
    training blocks, half-resolution refiner, L1 loss on the PD output."""
    from srcli.train.cs import train_cs

    train_cs(config, resume=resume, report=_echo_row)


@_train_command(ColorizeTrainConfig)
def train_colorize_command(config: ColorizeTrainConfig, resume: bool) -> None:
    """Train a colorization network: chroma classified at quarter resolution with rebalanced soft
    targets; gray comes from the input through PD, so only chroma is learned. At the end the
    decoding (temperature, saturation) is calibrated on --calibrate: the most colourful whose
    PSNR beats the gray copy's by 0.5 dB. With --adv-weight, a discriminator judges the decoded
    colours beside the gray (relativistic average GAN loss) and the network learns to fool it;
    --d-resolution quarter (recommended) shows it both pooled to the network's quarter resolution,
    about 16 times cheaper (full, the default, keeps the meaning of runs from before the option)."""
    from srcli.train.colorize import train_colorize

    train_colorize(config, resume=resume, report=_echo_row)


@_train_command(GANTrainConfig)
def train_gan_command(config: GANTrainConfig, resume: bool) -> None:
    """Train an adversarial SR generator through PD: the compact net's output, projected to be
    exactly consistent with the LR, against a U-Net discriminator (relativistic average GAN loss),
    with L1 and feature matching. The run keeps its last export (PSNR-Y falls as detail rises)."""
    from srcli.train.gan import train_gan

    train_gan(config, resume=resume, report=_echo_row)


@_train_command(NaturalnessTrainConfig)
def train_naturalness_command(config: NaturalnessTrainConfig, resume: bool) -> None:
    """Train a NatSR-style naturalness discriminator: photos against blurred and noisy copies that
    keep their box LR exactly (they differ only where an SR network inside PD chooses), for
    srcli train gan --naturalness."""
    from srcli.train.naturalness import train_naturalness

    train_naturalness(config, resume=resume, report=_echo_row)


@_train_command(USRNetTrainConfig)
def train_usrnet_command(config: USRNetTrainConfig, resume: bool) -> None:
    """Train USRNet (deep unfolding: closed-form data step, ResUNet prior, hyper-parameter MLP) for every
    scale in --scales, random blur kernels (Gaussians, motion, bicubic) and noise levels, L1 loss. The
    defaults are USRNet-tiny's sizes (0.59 M parameters); upstream's full model is --iterations 8
    --channels 64,128,256,512 --hyper-feat 64."""
    from srcli.train.usrnet import train_usrnet

    train_usrnet(config, resume=resume, report=_echo_row)
