"""The configuration of ``srcli train naturalness`` (:mod:`srcli.train.naturalness`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from srcli.errors import TrainError
from srcli.train.config import EXTRA, LEAD, NETWORK, TrainRun, option, override


@dataclass(kw_only=True)
class NaturalnessTrainConfig(TrainRun):
    command = "naturalness"

    scale: int = option(
        flag="--scale", place=LEAD, schedule=True, help="Upscaling factor whose LR the unnatural copies keep."
    )
    val: Path | None = override("val", help="Folder of validation images (accuracy every --val-every steps).")
    num_feat: int = option(32, flag="--num-feat", place=NETWORK, schedule=True, help="Base channels of the classifier.")
    steps: int = override("steps", 1500)
    batch: int = override("batch", help="Photos per step (and as many unnatural copies).")
    patch: int = override("patch", 96, help="HR patch side in pixels (a multiple of --scale).")
    lr: float = override("lr", 2e-4)
    val_every: int = override("val_every", 250)
    blur: float = option(
        0.5, flag="--blur", place=EXTRA, schedule=True, help="Share of the smooth consistent image in a blurred copy."
    )
    noise: float = option(
        0.05, flag="--noise", place=EXTRA, schedule=True,
        help="Standard deviation of the null-space noise of a noisy copy.",
    )  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.scale < 1:
            raise TrainError(f"must be at least 1, got {self.scale}", "scale")
        if self.patch % self.scale:
            raise TrainError(f"must be a multiple of the scale ({self.scale}), got {self.patch}", "patch")
