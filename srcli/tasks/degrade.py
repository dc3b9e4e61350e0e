"""``srcli degrade``: HR file → LR file, keeping depth, alpha and metadata."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from srcli.errors import ImageError, OptionError
from srcli.io.degradation_spec import downsample_float, downsample_rounded, parse_spec
from srcli.io.images import JPEG_SUBSAMPLINGS, read_picture, write_picture


@dataclass(frozen=True)
class DegradeResult:
    """Sizes as ``(width, height)``."""

    hr_size: tuple[int, int]
    lr_size: tuple[int, int]
    scale: int

    @property
    def cropped(self) -> bool:
        return self.hr_size != (self.lr_size[0] * self.scale, self.lr_size[1] * self.scale)


def noisy(
    lr: torch.Tensor, channels: torch.Tensor, colour: int, scale: int, method: str, sigma: float, seed: int, top: int
) -> torch.Tensor:
    """``lr`` ``(C, h, w)`` with Gaussian noise of ``sigma`` levels (seeded) on its first ``colour`` channels
    (alpha stays clean): added to the float degradation of ``channels`` (to Pillow's own result for its
    filters), rounded half up and clipped."""
    kind, _ = parse_spec(method)
    pillow = kind in ("bicubic", "bilinear", "lanczos")
    clean = lr.to(torch.float64) if pillow else downsample_float(channels, scale, method)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * sigma
    noise[colour:] = 0
    return torch.floor(clean + noise + 0.5).clamp(0, top).to(lr.dtype)


def degrade_image(
    hr_path: Path,
    scale: int,
    output: Path,
    method: str,
    overwrite: bool,
    noise: float = 0.0,
    seed: int = 0,
    jpeg_quality: int | None = None,
    subsampling: str = "4:2:0",
) -> DegradeResult:
    """Crop HR to a multiple of ``scale``, downsample by ``method`` (a spec of
    :func:`srcli.io.degradation_spec.parse_spec`), add seeded Gaussian noise of ``noise`` levels if asked,
    save as a JPEG at ``jpeg_quality`` with chroma ``subsampling`` if asked, write LR atomically."""
    parse_spec(method)
    if jpeg_quality is not None:
        if not 1 <= jpeg_quality <= 100:
            raise OptionError(f"JPEG quality must be in 1..100, got {jpeg_quality}")
        if subsampling not in JPEG_SUBSAMPLINGS:
            raise OptionError(f"subsampling must be one of {', '.join(JPEG_SUBSAMPLINGS)}, got {subsampling!r}")
        if output.suffix.lower() not in (".jpg", ".jpeg"):
            raise OptionError(f"a JPEG LR needs a .jpg or .jpeg output, got {output.name!r}")
    if not 0 <= noise < 1e4:
        raise OptionError(f"noise must be a level in [0, 10000), got {noise}")
    if not 0 <= seed < 2**63:
        raise OptionError(f"seed must be an integer in [0, 2⁶³), got {seed}")
    picture = read_picture(hr_path)
    if jpeg_quality is not None and (picture.bit_depth != 8 or picture.alpha is not None):
        raise ImageError(f"{hr_path}: a {picture.mode} image cannot be saved as a JPEG LR")
    width, height = picture.width, picture.height
    if width < scale or height < scale:
        raise ImageError(f"{hr_path}: {width}×{height} is smaller than one {scale}×{scale} block")
    lr_width, lr_height = width // scale, height // scale
    channels = picture.channels()[:, : lr_height * scale, : lr_width * scale]
    lr = downsample_rounded(channels, scale, method, picture.bit_depth)
    if noise > 0:
        lr = noisy(lr, channels, picture.color.shape[0], scale, method, noise, seed, picture.max_value)
    write_picture(picture.with_channels(lr), output, overwrite, quality=jpeg_quality, subsampling=subsampling)
    return DegradeResult((width, height), (lr_width, lr_height), scale)
