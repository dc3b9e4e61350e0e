"""``srcli bench``: quality, consistency and speed of an SR model on benchmark folders.

Uses the protocol of ``shared/README.md``: HR cropped to a multiple of the scale, LR by
``Image.reduce``, PSNR/SSIM on BT.601 Y with ``scale`` border pixels cropped. Outputs are
encoded as PNG and decoded again, so the consistency is that of the file as it would be saved.
Beside them, realism: NIQE (srcli's pristine model; lower is more natural, undefined under two
96×96 patches), detail energy relative to the HR photo (:func:`srcli.maths.metrics.detail`) and false
texture, the output's local luma std where the photo is flat over the photo's own
(:func:`srcli.maths.metrics.false_texture`: the set's means, images without a flat pixel left out).
"""

from __future__ import annotations

import math
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from srcli.archs import Model
from srcli.checkpoints.pristine import shipped_pristine
from srcli.checkpoints.resolve import total_scale
from srcli.errors import ImageError
from srcli.io.images import Picture, decode_picture, encode_picture, pil_to_tensor, tensor_to_pil
from srcli.io.testsets import image_files, protocol_pair, score_sr
from srcli.maths.metrics import SSIM_WINDOW, FalseTexture, detail, false_texture
from srcli.maths.niqe import niqe
from srcli.tasks.check import box_consistency
from srcli.tasks.run import RunOptions, Timings
from srcli.tasks.sr import upscale_chain


@dataclass(frozen=True)
class SetResult:
    """Means over one folder of images."""

    name: str
    images: int
    psnr_y: float
    ssim_y: float
    bicubic_psnr_y: float
    bicubic_ssim_y: float
    exact: int
    min_consistency_db: float
    seconds: float
    network_seconds: float
    projection_seconds: float
    output_megapixels: float
    niqe: float = math.nan
    bicubic_niqe: float = math.nan
    hr_niqe: float = math.nan
    detail: float = math.nan
    bicubic_detail: float = math.nan
    false_texture: float = math.nan
    bicubic_false_texture: float = math.nan

    @property
    def megapixels_per_second(self) -> float:
        return self.output_megapixels / self.seconds if self.seconds else float("nan")

    def as_json(self) -> dict[str, object]:
        return {
            "set": self.name,
            "images": self.images,
            "psnr_y": round(self.psnr_y, 3),
            "ssim_y": round(self.ssim_y, 4),
            "bicubic_psnr_y": round(self.bicubic_psnr_y, 3),
            "bicubic_ssim_y": round(self.bicubic_ssim_y, 4),
            "exact_outputs": self.exact,
            "min_consistency_psnr_db": None if self.min_consistency_db == float("inf") else self.min_consistency_db,
            "seconds": round(self.seconds, 3),
            "network_seconds": round(self.network_seconds, 3),
            "projection_seconds": round(self.projection_seconds, 3),
            "output_megapixels_per_second": float(f"{self.megapixels_per_second:.4g}"),  # tiny sets: not 0.0
            "niqe": _rounded(self.niqe, 3),
            "bicubic_niqe": _rounded(self.bicubic_niqe, 3),
            "hr_niqe": _rounded(self.hr_niqe, 3),
            "detail": _rounded(self.detail, 3),
            "bicubic_detail": _rounded(self.bicubic_detail, 3),
            "false_texture": _rounded(self.false_texture, 3),
            "bicubic_false_texture": _rounded(self.bicubic_false_texture, 3),
        }


def _rounded(value: float, digits: int) -> float | None:
    """``value`` rounded, or None (JSON null) where it is undefined."""
    return None if math.isnan(value) else round(value, digits)


def mean_of_defined(values: Sequence[float]) -> float:
    """The mean of the values that are not NaN (NIQE is undefined for small images, detail for flat photos);
    NaN if none are."""
    defined = [value for value in values if not math.isnan(value)]
    return sum(defined) / len(defined) if defined else math.nan


def realism_scores(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> tuple[float, float, FalseTexture]:
    """NIQE of uint8 ``(1, 3, H, W)`` ``sr``, its detail energy relative to ``hr`` and its false texture
    (``scale`` border cropped)."""
    unit, photo = sr.to(torch.float64) / 255, hr.to(torch.float64) / 255
    return niqe(unit, shipped_pristine()), detail(unit, photo, scale), false_texture(unit, photo, scale)


def false_texture_ratio(scores: Sequence[FalseTexture]) -> float:
    """The mean output std over the mean photo std, over the images with flat pixels; NaN if none has any."""
    photo = mean_of_defined([score.photo for score in scores])
    return mean_of_defined([score.output for score in scores]) / photo if photo else math.nan


def bicubic_upscale(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """Pillow's bicubic upsampling of ``(1, 3, h, w)`` uint8, the floor every model must beat."""
    image = tensor_to_pil(lr[0])
    return pil_to_tensor(image.resize((image.width * scale, image.height * scale), Image.Resampling.BICUBIC))[None]


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def bench_files(folder: Path) -> list[Path]:
    """The images of a benchmark folder; :class:`ImageError` (one line, exit 2) where it is missing, not a
    folder or holds no image."""
    if not folder.exists():
        raise ImageError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise ImageError(f"{folder}: not a folder (--data takes a folder of HR images)")
    try:
        files = image_files(folder)
    except OSError as error:
        raise ImageError(f"{folder}: cannot read ({error.strerror or error})") from None
    if not files:
        raise ImageError(f"{folder}: no images (.png, .jpg, .webp, .tif, .bmp) in it")
    return files


def bench_pair(path: Path, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`srcli.io.testsets.protocol_pair`, with an unreadable or too small image as :class:`ImageError`."""
    try:
        decode_picture(path.read_bytes(), str(path))  # an empty, truncated or foreign file: its one line
        hr, lr = protocol_pair(path, scale)
    except (OSError, ValueError) as error:
        raise ImageError(f"{path}: cannot be read as an image ({error})") from None
    if lr.shape[-1] == 0 or lr.shape[-2] == 0:
        raise ImageError(f"{path}: smaller than one ×{scale} block")
    needed = SSIM_WINDOW + 2 * scale  # the protocol crops `scale` border pixels before scoring
    if min(hr.shape[-2:]) < needed:
        height, width = hr.shape[-2:]
        raise ImageError(
            f"{path}: {width}×{height} is too small to score at ×{scale} ({needed} pixels a side at least)"
        )
    return hr, lr


def bench_folder(folder: Path, stages: list[Model], options: RunOptions, scale: int | None = None) -> SetResult:
    """Run every image of ``folder`` through the stages (to ×``scale``, None: their product, else their
    estimate resampled: :func:`srcli.tasks.sr.upscale_chain`) and score it."""
    scale = total_scale(stages) if scale is None else scale
    scores, bicubic, verdicts, realism, bicubic_realism, hr_niqe = [], [], [], [], [], []
    timings, seconds, megapixels = Timings(), 0.0, 0.0
    for path in bench_files(folder):
        hr, lr = bench_pair(path, scale)
        picture = Picture(lr[0], None, 8)
        started = time.perf_counter()
        picture, _ = upscale_chain(picture, stages, options, scale, timings=timings)
        seconds += time.perf_counter() - started
        saved = decode_picture(encode_picture(picture, ".png"), path.name, trusted=True)
        verdicts.append(box_consistency(saved.color, lr[0], scale, 255))
        scores.append(score_sr(saved.color.unsqueeze(0), hr, scale))
        realism.append(realism_scores(saved.color.unsqueeze(0), hr, scale))
        bicubic_image = bicubic_upscale(lr, scale)
        bicubic.append(score_sr(bicubic_image, hr, scale))
        bicubic_realism.append(realism_scores(bicubic_image, hr, scale))
        hr_niqe.append(niqe(hr.to(torch.float64) / 255, shipped_pristine()))
        megapixels += saved.width * saved.height / 1e6
    count = len(scores)
    return SetResult(
        name=folder.name,
        images=count,
        psnr_y=sum(s[0] for s in scores) / count,
        ssim_y=sum(s[1] for s in scores) / count,
        bicubic_psnr_y=sum(s[0] for s in bicubic) / count,
        bicubic_ssim_y=sum(s[1] for s in bicubic) / count,
        exact=sum(v.exact and v.psnr_db == float("inf") for v in verdicts),
        min_consistency_db=min(v.psnr_db for v in verdicts),
        seconds=seconds,
        network_seconds=timings.network,
        projection_seconds=timings.projection,
        output_megapixels=megapixels,
        niqe=mean_of_defined([r[0] for r in realism]),
        bicubic_niqe=mean_of_defined([r[0] for r in bicubic_realism]),
        hr_niqe=mean_of_defined(hr_niqe),
        detail=mean_of_defined([r[1] for r in realism]),
        bicubic_detail=mean_of_defined([r[1] for r in bicubic_realism]),
        false_texture=false_texture_ratio([r[2] for r in realism]),
        bicubic_false_texture=false_texture_ratio([r[2] for r in bicubic_realism]),
    )
