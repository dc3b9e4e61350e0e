"""The configuration of ``srcli train sr`` (:mod:`srcli.train.sr`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from srcli.errors import TrainError
from srcli.train.config import (
    NETWORK,
    Correction,
    Skip,
    TrainRun,
    option,
    override,
    pd_option,
    scale_option,
    skip_option,
    weights_digest,
)

TRAINED_DEGRADATIONS = ("box", "bicubic", "bicubic-matlab", "gaussian")
"""What ``--degradation`` takes: the separable degradations (:class:`srcli.maths.degradations.Resize`)."""


@dataclass(kw_only=True)
class SRTrainConfig(TrainRun):
    command = "sr"

    scale: int = scale_option()
    arch: str = option("compact", flag="--arch", place=NETWORK, schedule=True, help="Architecture.")
    num_feat: int = option(48, flag="--num-feat", place=NETWORK, schedule=True, help="Feature channels.")
    num_conv: int = option(16, flag="--num-conv", place=NETWORK, schedule=True, help="Body convolutions.")
    pd: bool = pd_option()
    init: Path | None = override(
        "init",
        help="Start from these weights (a new schedule). A compact net of another scale keeps its body and has "
        "its sub-pixel grid resampled: where its scale divides --scale (x4 for x8) training starts from its "
        "output, nearest-upsampled; otherwise (x4 for x3) from its body. One with fewer --num-conv is deepened "
        "by identity layers: training starts from its output.",
    )
    patch: int = override("patch", help="LR patch side in pixels.")
    # optional in the schedule: a state without correction, skip, loss, rescales, teacher, degradation or
    # JPEG qualities resumes with these defaults
    correction: Correction = option(
        "nearest", flag="--correction", schedule=True, optional=True,
        help="PD's right inverse: nearest (A⁺) or smooth (bilinear back-projection, no grid).",
    )  # fmt: skip
    skip: Skip = skip_option()
    loss: Literal["l1", "mse", "l1-luma"] = option(
        "l1", flag="--loss", schedule=True, optional=True,
        help="Pixel loss: l1, mse (the squared error PSNR measures), or l1-luma (L1 on BT.601 luma, which "
        "PSNR-Y scores, plus a quarter of the RGB L1).",
    )  # fmt: skip
    rescales: tuple[float, ...] = option(
        (), flag="--rescale", schedule=True, optional=True,
        help="Also train on every photo resized by this factor in (0, 1), Lanczos (repeat for more factors: "
        "--rescale 0.8 --rescale 0.6). Patches are drawn uniformly over photos and copies.",
    )  # fmt: skip
    teacher: Path | None = option(
        None, flag="--teacher", optional=True,
        help="Train towards these x--scale weights' self-ensemble (8 flips and transposes, PD-projected) "
        "instead of the HR patch: distillation, usually from the --init weights. The teacher runs once on "
        "every whole training photo before the first step (and again on --resume).",
    )  # fmt: skip
    teacher_sha256: str = option("", init=False, schedule=True, optional=True, key="teacher")  # its content
    degradation: str = option(
        "box", flag="--degradation", schedule=True, optional=True,
        help="The LR it learns to invert: box (s×s mean), bicubic (Pillow's resize, the published tables' LR), "
        "bicubic-matlab or gaussian:σ. The LR of each whole photo is made once, patches are cut in pairs on "
        "the scale grid, the output is projected under that degradation and validated on it.",
    )  # fmt: skip
    jpeg_quality: tuple[int, ...] = option(
        (), flag="--jpeg-quality", schedule=True, optional=True,
        help="Twice, LOW then HIGH (--jpeg-quality 30 --jpeg-quality 95): save every box LR patch as a JPEG at "
        "a random quality in this range (sampling 4:2:0, 4:4:4 or 4:2:2 per batch), train on what a decoder "
        "shows and project the output onto the file's quantization bins (the JPEG path of srcli upscale).",
    )  # fmt: skip

    def __post_init__(self) -> None:
        from srcli.io.degradation_spec import parse_spec

        super().__post_init__()
        if self.skip != "nearest" and self.arch != "compact":
            raise TrainError(f"--skip is a setting of the compact architecture, not of {self.arch}")
        self.rescales = tuple(self.rescales)
        if any(not 0 < factor < 1 for factor in self.rescales):
            raise TrainError(f"--rescale factors must be in (0, 1), got {', '.join(map(str, self.rescales))}")
        kind, _ = parse_spec(self.degradation)
        if kind not in TRAINED_DEGRADATIONS:
            raise TrainError(
                f"--degradation must be one of {', '.join(TRAINED_DEGRADATIONS)} (gaussian:σ with its σ), "
                f"got {self.degradation!r}"
            )
        if kind != "box" and self.teacher is not None:
            raise TrainError("--teacher targets are box-projected; it cannot be combined with --degradation")
        self.jpeg_quality = tuple(self.jpeg_quality)
        if self.jpeg_quality:
            if len(self.jpeg_quality) != 2 or not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
                raise TrainError(f"JPEG quality takes a range LOW,HIGH in 1..100, got {self.jpeg_quality}")
            if kind != "box" or self.teacher is not None:
                raise TrainError("JPEG training takes the box degradation and no teacher")
        if self.teacher is not None:
            if not self.teacher.is_file():
                raise TrainError(f"teacher weights not found: {self.teacher}")
            self.teacher_sha256 = weights_digest(self.teacher)

    def network_config(self) -> dict[str, int | str]:
        config: dict[str, int | str] = {"in_ch": 3, "num_feat": self.num_feat, "num_conv": self.num_conv}
        config["scale"] = self.scale
        return {**config, "skip": self.skip} if self.arch == "compact" else config
