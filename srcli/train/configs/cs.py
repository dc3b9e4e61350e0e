"""The configuration of ``srcli train cs`` (:mod:`srcli.train.cs`)."""

from __future__ import annotations

from dataclasses import dataclass

from srcli.train.config import LEAD, NETWORK, TrainRun, option, override, pd_option


@dataclass(kw_only=True)
class CSTrainConfig(TrainRun):
    command = "cs"

    ratio: float = option(flag="--ratio", place=LEAD, schedule=True, help="Sampling ratio the network reconstructs.")
    block: int = option(32, schedule=True)
    sensing_seed: int = option(
        0, flag="--sensing-seed", place=NETWORK, schedule=True, help="Seed of the sensing rows the model is fitted to."
    )
    num_feat: int = option(32, flag="--num-feat", place=NETWORK, schedule=True, help="Refiner feature channels.")
    num_conv: int = option(8, flag="--num-conv", place=NETWORK, schedule=True, help="Refiner body convolutions.")
    steps: int = override("steps", 6000)
    patch: int = override("patch", 96, help="Patch side in pixels (a multiple of 32).")
    pd: bool = pd_option()
    val_every: int = override("val_every", 250)
