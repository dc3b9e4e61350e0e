"""The configuration of ``srcli train gan`` (:mod:`srcli.train.gan`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from srcli.errors import TrainError
from srcli.train.config import (
    EXTRA,
    NETWORK,
    Correction,
    Skip,
    TrainRun,
    option,
    override,
    scale_option,
    skip_option,
    weights_digest,
)


@dataclass(kw_only=True)
class GANTrainConfig(TrainRun):
    command = "gan"

    scale: int = scale_option()
    num_feat: int = option(
        64, flag="--num-feat", place=NETWORK, schedule=True, help="Generator (compact) feature channels."
    )
    num_conv: int = option(
        8, flag="--num-conv", place=NETWORK, schedule=True, help="Generator (compact) body convolutions."
    )
    d_feat: int = option(
        32, flag="--d-feat", place=NETWORK, schedule=True, help="Discriminator (U-Net, spectral norm) base channels."
    )
    val: Path | None = override(
        "val", help="Folder of validation images (PSNR-Y and detail energy every --val-every steps)."
    )
    init: Path | None = override(
        "init",
        help="Start the generator from these compact SR weights (usually a PSNR-trained net); or from a gan run's "
        "state.safetensors: a warm restart (generator, discriminator, their Adam moments and the weight average; "
        "a new schedule). A shallower generator is deepened to --num-conv (new layers start as identities; "
        "its Adam starts afresh).",
    )
    steps: int = override("steps", 5000)
    batch: int = override("batch", 8)
    patch: int = override("patch", 24, help="LR patch side in pixels (HR side, patch·scale, a multiple of 8).")
    lr: float = override("lr", 1e-4, help="Peak learning rate (Adam) of generator and discriminator.")
    val_every: int = override("val_every", 250, help="Validate, log, checkpoint and export every N steps.")
    l1_weight: float = option(
        1.0, flag="--l1-weight", place=EXTRA, schedule=True, help="Weight of the L1 loss to the HR patch."
    )
    adv_weight: float = option(
        0.02, flag="--adv-weight", place=EXTRA, schedule=True, help="Weight of the relativistic adversarial loss."
    )
    fm_weight: float = option(
        1.0, flag="--fm-weight", place=EXTRA, schedule=True, help="Weight of feature matching on the discriminator."
    )
    naturalness: Path | None = option(
        None, flag="--naturalness", optional=True,
        help="A naturalness discriminator (srcli train naturalness, same --scale), frozen: its verdict on the "
        "output joins the loss, weighted by --nat-weight.",
    )  # fmt: skip
    naturalness_sha256: str = option("", init=False, schedule=True, optional=True, key="naturalness")
    nat_weight: float = option(
        1e-3, flag="--nat-weight", schedule=True, optional=True,
        help="Weight of the naturalness loss (with --naturalness).",
    )  # fmt: skip
    correction: Correction = option(
        "nearest", flag="--correction", schedule=True, optional=True,
        help="PD's right inverse inside training: nearest (A⁺, constant per s×s block) or smooth (bilinear "
        "back-projection: no block grid for the texture the generator adds).",
    )  # fmt: skip
    skip: Skip = skip_option()
    ldl: float = option(
        0.0, flag="--ldl", schedule=True, optional=True,
        help="Weight of LDL's artefact loss (Liang et al. 2022; 0: off, LDL used 1): an L1 to the HR patch "
        "weighted where the output's residual is erratic and the weight average's output is closer. Needs --ema.",
    )  # fmt: skip
    texture_gate: float = option(
        0.0, flag="--texture-gate", schedule=True, optional=True,
        help="Let the discriminator's terms reach each output pixel in proportion to the HR patch's texture, "
        "s²/(s² + L²) with s the 5×5 local std of its luma in levels and L this value (0: off; 3 is the "
        "false-texture measure's flat): the generator paints detail where the photo has it and leaves flat "
        "areas to the L1.",
    )  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.patch * self.scale % 8:
            side = self.patch * self.scale
            raise TrainError(f"--patch × --scale must be a multiple of 8 (the discriminator's), got {side}")
        if self.ldl < 0:
            raise TrainError(f"must be at least 0, got {self.ldl}", "ldl")
        if self.texture_gate < 0:
            raise TrainError(f"must be at least 0, got {self.texture_gate}", "texture_gate")
        if self.ldl and self.ema is None:
            raise TrainError("--ldl needs --ema: its artefact map compares the output with the weight average's")
        if self.naturalness is not None:
            if not self.naturalness.is_file():
                raise TrainError(f"naturalness weights not found: {self.naturalness}")
            self.naturalness_sha256 = weights_digest(self.naturalness)  # its content, not its path

    def network_config(self) -> dict[str, int | str]:
        return {
            "in_ch": 3,
            "num_feat": self.num_feat,
            "num_conv": self.num_conv,
            "scale": self.scale,
            "skip": self.skip,
        }

    def schedule_key(self) -> dict[str, object]:
        """:meth:`TrainRun.schedule_key`, with the weight average's decay where ``--ldl`` trains on its output."""
        key = super().schedule_key()
        return key | {"ema": self.ema} if self.ldl else key
