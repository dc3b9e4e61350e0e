"""The evaluation protocol of ``shared/README.md``: box LR, PSNR/SSIM on Y, border = scale."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from srcli.io.images import IMAGE_SUFFIXES, pil_to_tensor
from srcli.maths.metrics import psnr_y, ssim_y

Upscaler = Callable[[torch.Tensor], torch.Tensor]
"""``(1, 3, h, w)`` uint8 LR → ``(1, 3, s·h, s·w)`` uint8 SR."""


@dataclass(frozen=True)
class ImageScore:
    name: str
    psnr_y: float
    ssim_y: float


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def protocol_pair(path: Path, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """HR cropped to a multiple of ``scale`` and its box LR (``Image.reduce``), ``(1, 3, ·, ·)`` uint8."""
    with Image.open(path) as image:
        hr = image.convert("RGB")
    hr = hr.crop((0, 0, hr.width - hr.width % scale, hr.height - hr.height % scale))
    return pil_to_tensor(hr).unsqueeze(0), pil_to_tensor(hr.reduce(scale)).unsqueeze(0)


def score_sr(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> tuple[float, float]:
    """PSNR-Y and SSIM-Y of uint8 ``(1, 3, H, W)`` tensors with ``scale`` border pixels cropped."""
    sr_unit, hr_unit = sr.to(torch.float64) / 255, hr.to(torch.float64) / 255
    return psnr_y(sr_unit, hr_unit, scale), ssim_y(sr_unit, hr_unit, scale)


def evaluate_sr(upscale: Upscaler, files: Iterable[Path], scale: int, with_ssim: bool = True) -> list[ImageScore]:
    """Score ``upscale`` on every file with the protocol."""
    scores = []
    for path in files:
        hr, lr = protocol_pair(path, scale)
        sr = upscale(lr)
        if with_ssim:
            p, s = score_sr(sr, hr, scale)
        else:
            p, s = psnr_y(sr.double() / 255, hr.double() / 255, scale), float("nan")
        scores.append(ImageScore(path.stem, p, s))
    return scores
