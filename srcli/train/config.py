"""What every training run is configured by, and how its command line and resume key are derived.

Each field of a configuration says, in its metadata (:func:`option`), which ``srcli train`` flag
sets it, where that flag stands in the recorded command line, and whether it belongs to the
schedule a checkpoint must match to be resumed. :meth:`TrainRun.command_line` and
:meth:`TrainRun.schedule_key` read that metadata; no task writes either by hand.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srcli.errors import TrainError

# Where a flag stands in the recorded command line (ties keep the order the fields are declared in):
# the task's own leading option, the files, the network, the schedule, then later additions.
LEAD, DATA, VAL, INPUTS, INIT, OUT, NETWORK, STEPS, BATCH, PATCH, LR, PD, SEED, VAL_EVERY, EMA, EXTRA = range(16)


def option(
    default: Any = dataclasses.MISSING,
    *,
    flag: str | None = None,
    place: int = EXTRA,
    schedule: bool = False,
    optional: bool = False,
    key: str | None = None,
    init: bool = True,
) -> Any:
    """A configuration field: set by ``flag`` (recorded at ``place`` in the command line), part of
    the resume key (as ``key``, default the field's name) with ``schedule``; with ``optional`` it is
    left out of both while it has its default (so runs from before the option still resume)."""
    metadata = {"flag": flag, "place": place, "schedule": schedule, "optional": optional, "key": key}
    return field(default=default, init=init, metadata=metadata)


@dataclass(kw_only=True)
class TrainRun:
    """What every training run has: data, where its weights and run folder go, and the schedule
    the loop (:func:`srcli.train.loop.fit`) follows. Each task's configuration adds its own fields
    and defaults, declared with :func:`option`; ``command`` names its ``srcli train`` subcommand."""

    command = ""

    data: Path = option(flag="--data", place=DATA)
    out: Path = option(flag="--out", place=OUT)
    run_dir: Path = option()
    val: Path | None = option(None, flag="--val", place=VAL, optional=True)
    steps: int = option(20000, flag="--steps", place=STEPS, schedule=True)
    minutes: float | None = option(None)
    stop_at: int | None = option(None)
    init: Path | None = option(None, flag="--init", place=INIT, schedule=True, optional=True)
    batch: int = option(16, flag="--batch", place=BATCH, schedule=True)
    patch: int = option(32, flag="--patch", place=PATCH, schedule=True)
    lr: float = option(5e-4, flag="--lr", place=LR, schedule=True)
    lr_min: float = option(1e-5, schedule=True)
    seed: int = option(0, flag="--seed", place=SEED, schedule=True)
    val_every: int = option(500, flag="--val-every", place=VAL_EVERY)
    ema: float | None = option(None, flag="--ema", place=EMA, optional=True)
    init_seconds: float = option(0.0, init=False)  # training time of the --init weights, set at the start

    def __post_init__(self) -> None:
        if self.ema is not None and not 0 <= self.ema < 1:
            raise TrainError(f"must be in [0, 1), got {self.ema}", "ema")

    def _recorded(self, kind: str) -> list[tuple[dataclasses.Field[Any], Any]]:
        """The fields with a ``kind`` (flag or schedule) that are recorded, with their values, in order."""
        chosen = []
        for index, spec in enumerate(dataclasses.fields(self)):
            value = getattr(self, spec.name)
            if not spec.metadata.get(kind) or value is None:
                continue
            if spec.metadata["optional"] and value == spec.default:
                continue
            chosen.append(((spec.metadata["place"], index), spec, value))
        return [(spec, value) for _, spec, value in sorted(chosen, key=lambda item: item[0])]

    def command_line(self) -> str:
        """The ``srcli train`` command that makes this run (recorded in the weights' header)."""
        words = ["srcli", "train", self.command]
        for spec, value in self._recorded("flag"):
            flag = spec.metadata["flag"]
            if isinstance(value, bool):
                words.append(flag if value else f"--no-{flag[2:]}")
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


def weights_digest(path: Path) -> str:
    """sha256 of a weights file: a resumed run checks that its teacher (or naturalness judge) is the one it
    began with."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def override(name: str, default: Any) -> Any:
    """:class:`TrainRun`'s field ``name`` (its flag, place and schedule) with another default, for a
    task's configuration (a plain ``steps: int = 6000`` there would drop the field's metadata)."""
    spec = TrainRun.__dataclass_fields__[name]
    return field(default=default, init=spec.init, metadata=spec.metadata)
