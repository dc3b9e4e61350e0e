"""The configuration of ``srcli train usrnet`` (:mod:`srcli.train.usrnet`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from srcli.errors import TrainError
from srcli.train.config import EXTRA, NETWORK, TrainRun, option, override


def _numbers(text: str, parameter: str, count: int | None = None) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise TrainError(f"takes integers separated by commas, got {text!r}", parameter) from None
    if (count is not None and len(values) != count) or not all(value > 0 for value in values):
        raise TrainError(f"takes {count or 'some'} positive integers separated by commas, got {text!r}", parameter)
    return values


@dataclass(kw_only=True)
class USRNetTrainConfig(TrainRun):
    command = "usrnet"

    val: Path | None = override(
        "val", help="Folder of validation images: their centre 240 px under one fixed degradation per scale."
    )
    iterations: int = option(
        6, flag="--iterations", place=NETWORK, schedule=True, help="Unfolded iterations (data step + prior step)."
    )
    channels: str = option(
        "16,32,64,64", flag="--channels", place=NETWORK, schedule=True,
        help="The prior ResUNet's channels at its 4 levels.",
    )  # fmt: skip
    blocks: int = option(
        2, flag="--blocks", place=NETWORK, schedule=True, help="Residual blocks per level of the prior."
    )
    hyper_feat: int = option(
        32, flag="--hyper-feat", place=NETWORK, schedule=True, help="Width of the hyper-parameter MLP."
    )
    steps: int = override("steps", 6000)
    batch: int = override("batch", 8)
    patch: int = override("patch", 48, help="HR patch side in pixels (a multiple of every scale).")
    lr: float = override("lr", 2e-4)
    val_every: int = override("val_every", 200)
    scales: str = option(
        "1,2,3,4",
        flag="--scales",
        place=EXTRA,
        schedule=True,
        help="Scales to train for, one per step (1 is deblurring).",
    )
    max_noise: float = option(
        25.0,
        flag="--max-noise",
        place=EXTRA,
        schedule=True,
        help="Noise levels drawn up to this (levels; none for 1 in 8).",
    )
    kernel_size: int = option(
        25, flag="--kernel-size", place=EXTRA, schedule=True, help="Side of the random kernels (odd, HR pixels)."
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.iterations <= 32 or not 1 <= self.blocks <= 8 or not 1 <= self.hyper_feat <= 1024:
            raise TrainError("--iterations must be in [1, 32], --blocks in [1, 8], --hyper-feat in [1, 1024]")
        channels = _numbers(self.channels, "channels", 4)
        if max(channels) > 1024:
            raise TrainError(f"must be at most 1024 each, got {self.channels}", "channels")
        scales = self.scale_list()
        if not all(1 <= scale <= 4 for scale in scales):
            raise TrainError(f"must be in 1..4, got {self.scales}", "scales")
        if any(self.patch % scale for scale in scales):
            raise TrainError(f"(HR pixels) must be a multiple of every scale, got {self.patch}", "patch")
        if not 0 <= self.max_noise <= 255:
            raise TrainError(f"must be a level in [0, 255], got {self.max_noise}", "max_noise")
        if self.kernel_size % 2 == 0 or not 1 <= self.kernel_size <= self.patch:
            raise TrainError(f"must be odd and at most the patch ({self.patch}), got {self.kernel_size}", "kernel_size")

    def scale_list(self) -> tuple[int, ...]:
        return _numbers(self.scales, "scales")

    def network_config(self) -> dict[str, object]:
        nc = list(_numbers(self.channels, "channels", 4))
        return {"n_iter": self.iterations, "h_nc": self.hyper_feat, "in_nc": 4, "out_nc": 3, "nc": nc,
                "nb": self.blocks}  # fmt: skip
