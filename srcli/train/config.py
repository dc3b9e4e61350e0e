"""What every training run is configured by, and how its options, command line and resume key are derived.

Each field of a configuration says, in its metadata (:func:`option`), which ``srcli train`` flag
sets it and its help text, where that flag stands in the recorded command line, and whether it
belongs to the schedule a checkpoint must match to be resumed. The command line's options
(:meth:`TrainRun.options`, made into Typer options by :mod:`srcli.cli.train`),
:meth:`TrainRun.command_line` and :meth:`TrainRun.schedule_key` read that metadata; no task writes
any of them by hand. Torch-free, as are the tasks' configurations (:mod:`srcli.train.configs`): the
command line is built from them at every start.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shlex
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from srcli.errors import TrainError

# Where a flag stands in the recorded command line and in --help (ties keep the order the fields are declared in):
# the task's own leading option, the files, the network, the schedule, then later additions.
LEAD, DATA, VAL, INPUTS, INIT, OUT, NETWORK, STEPS, BATCH, PATCH, LR, PD, SEED, VAL_EVERY, EMA, EXTRA = range(16)
_KEEP: Any = object()  # what override leaves as TrainRun declares it


def option(
    default: Any = dataclasses.MISSING,
    *,
    flag: str | None = None,
    help: str | None = None,
    recorded: bool = True,
    place: int = EXTRA,
    schedule: bool = False,
    optional: bool = False,
    key: str | None = None,
    init: bool = True,
) -> Any:
    """A configuration field: the ``srcli train`` option ``flag`` sets it, described by ``help`` (with a
    default of None the option may be left out, and ``__post_init__`` may derive the value), and it is
    recorded at ``place`` in the command line unless not ``recorded`` (where a run goes and when it stops);
    part of the resume key (as ``key``, default the field's name) with ``schedule``; with ``optional`` it
    is left out of both while it has its default (so runs from before the option still resume). A field
    typed ``Literal[...]`` takes one of those values."""
    metadata = {"flag": flag, "help": help, "recorded": flag is not None and recorded, "place": place,
                "schedule": schedule, "optional": optional, "key": key}  # fmt: skip
    return field(default=default, init=init, metadata=metadata)


Correction = Literal["nearest", "smooth"]
"""The right inverse PD corrects with (:data:`srcli.maths.operators.CORRECTIONS`)."""
Skip = Literal["nearest", "bilinear"]
"""How a compact net upsamples the LR into its skip connection (:data:`srcli.archs.compact.SKIPS`)."""


def scale_option() -> Any:
    """``--scale``, the upscaling factor, of ``srcli train sr`` and ``gan``."""
    return option(flag="--scale", place=LEAD, schedule=True, help="Upscaling factor.")


def pd_option() -> Any:
    """``--pd/--no-pd`` of ``srcli train sr`` and ``cs``."""
    return option(True, flag="--pd", place=PD, schedule=True, help="Train through the PD projection.")


def skip_option() -> Any:
    """``--skip`` of ``srcli train sr`` and ``gan`` (optional in the schedule: a state without it resumes
    as nearest)."""
    return option(
        "nearest", flag="--skip", place=NETWORK, schedule=True, optional=True,
        help="The compact net's skip: the LR upsampled nearest (Real-ESRGAN's; what the body misses shows "
        "as a faint s×s block grid) or bilinear (no grid).",
    )  # fmt: skip


def negated(flag: str) -> str:
    """The flag that sets a boolean option to False: ``--no-pd`` for ``--pd``."""
    return f"--no-{flag[2:]}"


def weights_digest(path: Path) -> str:
    """sha256 of a weights file: a resumed run checks that its teacher (or naturalness judge) is the one it
    began with."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(kw_only=True)
class TrainRun:
    """What every training run has: data, where its weights and run folder go, and the schedule
    the loop (:func:`srcli.train.loop.fit`) follows. Each task's configuration adds its own fields
    and defaults, declared with :func:`option`; ``command`` names its ``srcli train`` subcommand."""

    command = ""

    data: Path = option(flag="--data", place=DATA, help="Folder of training images.")
    out: Path = option(flag="--out", place=OUT, help="Where to write the weights (.safetensors).")
    run_dir: Path = option(
        None, flag="--run-dir", recorded=False, place=OUT,
        help="Folder for state, log.csv and convergence.png [default: runs/<out stem>].",
    )  # fmt: skip
    val: Path | None = option(
        None, flag="--val", place=VAL, optional=True,
        help="Folder of validation images (PSNR every --val-every steps).",
    )  # fmt: skip
    steps: int = option(
        20000, flag="--steps", place=STEPS, schedule=True, help="Length of the cosine schedule, in steps."
    )
    minutes: float | None = option(
        None, flag="--minutes", recorded=False, place=STEPS, help="Stop after this many minutes (resume later)."
    )
    stop_at: int | None = option(
        None, flag="--stop-at", recorded=False, place=STEPS, help="Stop (and checkpoint) at this step; resume later."
    )
    init: Path | None = option(
        None, flag="--init", place=INIT, schedule=True, optional=True,
        help="Start from these weights (a new schedule) instead of a fresh initialisation; or from another "
        "run's state.safetensors: a warm restart (weights, Adam moments, weight average; a new schedule).",
    )  # fmt: skip
    batch: int = option(16, flag="--batch", place=BATCH, schedule=True, help="Patches per step.")
    patch: int = option(32, flag="--patch", place=PATCH, schedule=True)  # each task says which side, in help
    lr: float = option(5e-4, flag="--lr", place=LR, schedule=True, help="Peak learning rate (Adam).")
    lr_min: float = option(1e-5, schedule=True)
    seed: int = option(0, flag="--seed", place=SEED, schedule=True, help="Seed for initialisation and sampling.")
    val_every: int = option(
        500, flag="--val-every", place=VAL_EVERY, help="Validate, log and checkpoint every N steps."
    )
    ema: float | None = option(
        None, flag="--ema", place=EMA, optional=True,
        help="Validate and export an exponential moving average of the weights with this decay (0.999: "
        "about the last 1000 steps). Training itself is unchanged, so it can be added when resuming.",
    )  # fmt: skip
    init_seconds: float = option(0.0, init=False)  # training time of the --init weights, set at the start

    def __post_init__(self) -> None:
        if self.run_dir is None:
            self.run_dir = Path("runs") / self.out.stem
        if self.ema is not None and not 0 <= self.ema < 1:
            raise TrainError(f"must be in [0, 1), got {self.ema}", "ema")
        for name, hint in typing.get_type_hints(type(self)).items():
            choices = typing.get_args(hint) if typing.get_origin(hint) is Literal else ()
            if choices and getattr(self, name) not in choices:
                raise TrainError(f"must be one of {', '.join(choices)}, got {getattr(self, name)!r}", name)

    @classmethod
    def options(cls) -> list[dataclasses.Field[Any]]:
        """The fields a ``srcli train`` option sets, in the order of the command line."""
        flagged = [spec for spec in dataclasses.fields(cls) if spec.metadata.get("flag")]
        return sorted(flagged, key=lambda spec: spec.metadata["place"])

    def _recorded(self, kind: str) -> list[tuple[dataclasses.Field[Any], Any]]:
        """The fields ``recorded`` in the command line or in the ``schedule``, with their values, in order."""
        chosen = []
        for spec in sorted(dataclasses.fields(self), key=lambda spec: spec.metadata["place"]):
            value = getattr(self, spec.name)
            if not spec.metadata[kind] or value is None:
                continue
            if spec.metadata["optional"] and value == spec.default:
                continue
            chosen.append((spec, value))
        return chosen

    def command_line(self) -> str:
        """The ``srcli train`` command that makes this run (recorded in the weights' header)."""
        words = ["srcli", "train", self.command]
        for spec, value in self._recorded("recorded"):
            flag = spec.metadata["flag"]
            if isinstance(value, bool):
                words.append(flag if value else negated(flag))
            elif isinstance(value, tuple | list):
                words += [word for item in value for word in (flag, str(item))]
            else:
                words += [flag, str(value)]
        return shlex.join(words)

    def schedule_key(self) -> dict[str, object]:
        """What must match for a checkpoint to be resumed (the weight average is not part of it:
        it does not change the training run), as JSON values."""
        key: dict[str, object] = {}
        for spec, value in self._recorded("schedule"):
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            key[spec.metadata["key"] or spec.name] = value
        return key

    def training_time(self, seconds: str) -> dict[str, str]:
        """Header fields for the weights' training time: this run's ``seconds`` and the total with
        the runs that made its ``--init`` weights (:attr:`init_seconds`)."""
        return {"train_seconds": seconds, "train_seconds_total": f"{self.init_seconds + float(seconds):.1f}"}


def override(name: str, default: Any = _KEEP, *, help: str | None = None) -> Any:
    """:class:`TrainRun`'s field ``name`` (its flag, place and schedule) with another default or help, for a
    task's configuration (a plain ``steps: int = 6000`` there would drop the field's metadata)."""
    spec = TrainRun.__dataclass_fields__[name]
    metadata = {**spec.metadata, "help": help or spec.metadata["help"]}
    return field(default=spec.default if default is _KEEP else default, init=spec.init, metadata=metadata)
