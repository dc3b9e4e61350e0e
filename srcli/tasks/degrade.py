"""``srcli degrade``: HR file → LR file, keeping depth, alpha and metadata."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from srcli.downsample import downsample_rounded
from srcli.errors import ImageError
from srcli.imageio import read_picture, write_picture


@dataclass(frozen=True)
class DegradeResult:
    """Sizes as ``(width, height)``."""

    hr_size: tuple[int, int]
    lr_size: tuple[int, int]
    scale: int

    @property
    def cropped(self) -> bool:
        return self.hr_size != (self.lr_size[0] * self.scale, self.lr_size[1] * self.scale)


def degrade_image(hr_path: Path, scale: int, output: Path, method: str, overwrite: bool) -> DegradeResult:
    """Crop HR to a multiple of ``scale``, downsample by ``method``, write LR atomically."""
    picture = read_picture(hr_path)
    width, height = picture.width, picture.height
    if width < scale or height < scale:
        raise ImageError(f"{hr_path}: {width}×{height} is smaller than one {scale}×{scale} block")
    lr_width, lr_height = width // scale, height // scale
    channels = picture.channels()[:, : lr_height * scale, : lr_width * scale]
    write_picture(
        picture.with_channels(downsample_rounded(channels, scale, method, picture.bit_depth)), output, overwrite
    )
    return DegradeResult((width, height), (lr_width, lr_height), scale)
