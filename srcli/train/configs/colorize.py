"""The configuration of ``srcli train colorize`` (:mod:`srcli.train.colorize`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from srcli.errors import TrainError
from srcli.train.config import EXTRA, INPUTS, NETWORK, TrainRun, option, override

NUM_CONV = {"colornet": 8, "colorunet": 2}
"""``--num-conv`` by default: ColorNet's convolutions in all, ColorUNet's per level."""


@dataclass(kw_only=True)
class ColorizeTrainConfig(TrainRun):
    command = "colorize"

    calibrate: Path | None = option(
        None, flag="--calibrate", place=INPUTS, optional=True,
        help="Colour images to calibrate temperature and saturation on [default: --val].",
    )  # fmt: skip
    arch: Literal["colornet", "colorunet"] = option(
        "colornet", flag="--arch", place=NETWORK, schedule=True, optional=True,
        help="colornet (convolutions at 1/4 resolution) or colorunet (a U-Net down to 1/32 with a pooled feature "
        "of the whole picture: it sees what an object is; --patch a multiple of 32).",
    )  # fmt: skip
    num_feat: int = option(
        32, flag="--num-feat", place=NETWORK, schedule=True, help="Feature channels (colorunet: of its finest level)."
    )
    num_conv: int = option(
        None, flag="--num-conv", place=NETWORK, schedule=True,
        help=f"Convolutions: colornet's in all ({NUM_CONV['colornet']}), colorunet's per level "
        f"({NUM_CONV['colorunet']}).",
    )  # fmt: skip
    temperature: float = option(
        0.4, flag="--temperature", place=NETWORK, help="Annealed-mean temperature for validation."
    )
    sigma: float = option(0.04, flag="--sigma", place=NETWORK, schedule=True, help="Width of the soft chroma targets.")
    rebalance: float = option(
        0.5, flag="--rebalance", place=NETWORK, schedule=True,
        help="Mix of uniform in the class rebalancing (0 = full, 1 = none: the network's honest mean, which the "
        "calibrated saturation scales; it keeps the 0.5 dB margin where rebalancing paints gray pictures).",
    )  # fmt: skip
    d_feat: int = option(
        32, flag="--d-feat", place=NETWORK, schedule=True, optional=True,
        help="Discriminator (U-Net, spectral norm) base channels, with --adv-weight.",
    )  # fmt: skip
    d_resolution: Literal["full", "quarter"] = option(
        "full", flag="--d-resolution", place=NETWORK, schedule=True, optional=True,
        help="The discriminator's resolution, with --adv-weight: full, or quarter (gray and colours average-pooled "
        "×4: the network paints chroma at a quarter, so it judges the same colour for about 1/16 of the cost; "
        "recommended; --patch a multiple of 32).",
    )  # fmt: skip
    steps: int = override("steps", 4000)
    batch: int = override("batch", 32)
    patch: int = override("patch", 64, help="Patch side in pixels (a multiple of 4; of 32 for colorunet).")
    val_every: int = override("val_every", 250)
    adv_weight: float = option(
        0.0, flag="--adv-weight", place=EXTRA, schedule=True, optional=True,
        help="Weight of a relativistic adversarial loss (0: none, no discriminator): a discriminator sees the gray "
        "input with the photo or with the colours decoded at the network's temperature and saturation (--patch a "
        "multiple of 8; of 32 at --d-resolution quarter).",
    )  # fmt: skip

    def __post_init__(self) -> None:
        from srcli.archs.colornet import DOWN
        from srcli.train.colorize import NETWORKS

        super().__post_init__()
        if self.num_conv is None:
            self.num_conv = NUM_CONV[self.arch]
        multiple = NETWORKS[self.arch].input_multiple
        if self.patch % multiple:
            raise TrainError(f"must be a multiple of {multiple} for {self.arch}, got {self.patch}", "patch")
        if self.adv_weight < 0:
            raise TrainError(f"must be at least 0, got {self.adv_weight}", "adv_weight")
        pooled = DOWN if self.d_resolution == "quarter" else 1
        if self.adv_weight and self.patch % (8 * pooled):
            side = "patch" if pooled == 1 else f"patch / {pooled}"
            raise TrainError(
                f"must be a multiple of {8 * pooled} with --adv-weight at --d-resolution {self.d_resolution} (the "
                f"discriminator's side, {side}, a multiple of 8), got {self.patch}", "patch",
            )  # fmt: skip
