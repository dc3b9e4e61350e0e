"""How consistent an SR image is with its LR: the measurement behind ``srcli check``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from srcli.errors import ImageError
from srcli.io.degradation_spec import DOWNSAMPLERS, downsample_float, downsample_rounded
from srcli.io.images import Picture, read_picture, write_picture
from srcli.maths.box import box_sums, float_means, rounded_means
from srcli.maths.jpeg import Agreement
from srcli.maths.metrics import consistency_psnr, psnr_from_mse
from srcli.maths.operators import MAX_SCALE, MIN_SCALE
from srcli.tasks.jpeg_input import file_agreement, jpeg_input


@dataclass(frozen=True)
class Consistency:
    """One downsampler's verdict.

    ``psnr_db``: float64 PSNR of ``A(SR)`` against LR, no rounding (``inf`` when equal).
    ``exact``: ``A(SR)`` rounded as the LR was stored equals the LR byte for byte.
    ``error_map``: ``(h, w)`` mean absolute error per LR pixel, in levels.
    """

    method: str
    psnr_db: float
    exact: bool
    max_abs_error: float
    error_map: torch.Tensor

    def as_json(self) -> dict[str, object]:
        return {
            "consistency_psnr_db": None if math.isinf(self.psnr_db) else round(self.psnr_db, 4),
            "consistency_exact": self.exact,
            "max_abs_error": round(self.max_abs_error, 6),
        }


def infer_scale(sr_size: tuple[int, int], lr_size: tuple[int, int]) -> int:
    """The integer factor ``s`` in [2, 16] with ``s·LR ≤ SR < s·LR + s`` per side (SR may be cropped to fit).

    Sizes are ``(width, height)``. Raises :class:`ImageError` when no such factor exists.
    """
    (sw, sh), (lw, lh) = sr_size, lr_size
    scale = sw // lw
    if scale < MIN_SCALE or sh // lh != scale or sw - scale * lw >= scale or sh - scale * lh >= scale:
        raise ImageError(f"sizes {sw}×{sh} and {lw}×{lh} are not an integer ratio of {MIN_SCALE} or more")
    if scale > MAX_SCALE:
        raise ImageError(f"sizes {sw}×{sh} and {lw}×{lh} are ×{scale}; srcli checks up to ×{MAX_SCALE}")
    return scale


def check_scale(sr_size: tuple[int, int], lr_size: tuple[int, int], scale: int) -> None:
    """Raise :class:`ImageError` unless SR is ``scale`` × LR (up to ``scale − 1`` extra pixels)."""
    (sw, sh), (lw, lh) = sr_size, lr_size
    if not (0 <= sw - scale * lw < scale and 0 <= sh - scale * lh < scale):
        raise ImageError(f"SR {sw}×{sh} is not ×{scale} of LR {lw}×{lh}")


def comparable_channels(sr: Picture, lr: Picture) -> tuple[torch.Tensor, torch.Tensor]:
    """Channels of SR and LR to compare: colour, and alpha (both or neither must have it)."""
    if sr.bit_depth != lr.bit_depth:
        raise ImageError(f"SR is {sr.bit_depth}-bit but LR is {lr.bit_depth}-bit")
    if sr.color.shape[0] != lr.color.shape[0] or (sr.alpha is None) != (lr.alpha is None):
        raise ImageError(f"SR is {sr.mode.split()[0]} but LR is {lr.mode.split()[0]}: compare images of one kind")
    return sr.channels(), lr.channels()


ROWS_PER_CHUNK = 64


def box_consistency(sr_channels: torch.Tensor, lr_channels: torch.Tensor, scale: int, max_value: int) -> Consistency:
    """Box consistency of ``(C, s·h, s·w)`` SR against integer ``(C, h, w)`` LR, in strips of LR rows.

    Works strip by strip so that a 48-megapixel output never needs a float64 copy of itself.
    """
    squared, exact, worst = 0.0, True, 0.0
    error_map = torch.empty(lr_channels.shape[1:], dtype=torch.float64)
    for top in range(0, lr_channels.shape[1], ROWS_PER_CHUNK):
        bottom = min(top + ROWS_PER_CHUNK, lr_channels.shape[1])
        strip = sr_channels[:, top * scale : bottom * scale]
        observed = lr_channels[:, top:bottom]
        sums = box_sums(strip, scale)
        error = (float_means(sums, scale) - observed.to(torch.float64)).abs()
        squared += error.square().sum().item()
        worst = max(worst, error.max().item())
        error_map[top:bottom] = error.mean(dim=0)
        exact = exact and torch.equal(rounded_means(sums, scale), observed.to(torch.int32))
    return Consistency("box", psnr_from_mse(squared / lr_channels.numel(), max_value), exact, worst, error_map)


def measure(sr: Picture, lr: Picture, scale: int, method: str) -> Consistency:
    """Downsample SR (cropped to ``scale``·LR) by ``method`` and compare it with LR."""
    sr_channels, lr_channels = comparable_channels(sr, lr)
    sr_channels = sr_channels[:, : lr.height * scale, : lr.width * scale]
    if method == "box":
        return box_consistency(sr_channels, lr_channels, scale, lr.max_value)
    measured = downsample_float(sr_channels, scale, method)
    observed = lr_channels.to(torch.float64)
    error = (measured - observed).abs()
    exact = torch.equal(downsample_rounded(sr_channels, scale, method, sr.bit_depth), lr_channels.to(torch.int32))
    return Consistency(
        method=method,
        psnr_db=consistency_psnr(measured, observed, lr.max_value),
        exact=exact,
        max_abs_error=error.max().item(),
        error_map=error.mean(dim=0),
    )


def best(results: list[Consistency]) -> Consistency:
    """The downsampler that explains the LR best: exact first, then highest PSNR."""
    return max(results, key=lambda r: (r.exact, r.psnr_db))


def heatmap(error_map: torch.Tensor, levels: float = 4.0) -> torch.Tensor:
    """An 8-bit RGB picture of an ``(h, w)`` error map: black (0) → red → yellow → white (≥ ``levels``).

    Returns ``(3, h, w)`` int32 in [0, 255].
    """
    t = (error_map / levels).clamp(0, 1).to(torch.float64) * 3
    red, green, blue = t.clamp(0, 1), (t - 1).clamp(0, 1), (t - 2).clamp(0, 1)
    return (torch.stack([red, green, blue]) * 255).round().to(torch.int32)


@dataclass(frozen=True)
class CheckOutcome:
    """``jpeg``: for a JPEG LR, how much of its file the SR's reduce reproduces (:func:`jpeg_agreement`)."""

    scale: int
    cropped: tuple[int, int] | None
    results: list[Consistency]
    chosen: Consistency
    jpeg: Agreement | None = None


def jpeg_agreement(sr: Picture, lr: Picture, scale: int) -> Agreement | None:
    """For an LR read from a JPEG file srcli can model: the share of its coefficients (and MCUs) that SR's box
    downsample, rounded as ``Image.reduce`` does and encoded with the file's tables, reproduces; else None."""
    try:
        jpeg = jpeg_input(lr)
    except ImageError:
        return None
    if jpeg is None:
        return None
    sr_channels, _ = comparable_channels(sr, lr)
    return file_agreement(jpeg, sr_channels[:, : lr.height * scale, : lr.width * scale], scale)


def check_images(
    sr_path: Path, lr_path: Path, scale: str, method: str, heatmap_path: Path | None, overwrite: bool
) -> CheckOutcome:
    """Read SR and LR, measure every requested downsampler, write the heatmap if asked."""
    outcome = check_pictures(read_picture(sr_path), read_picture(lr_path), scale, method)
    if heatmap_path is not None:
        picture = Picture(color=heatmap(outcome.chosen.error_map), alpha=None, bit_depth=8)
        write_picture(picture, heatmap_path, overwrite)
    return outcome


def check_pictures(sr: Picture, lr: Picture, scale: str, method: str) -> CheckOutcome:
    """Measure SR against LR at ``scale`` (``auto``: from the sizes) by ``method`` (``auto``: every one of
    :data:`DOWNSAMPLERS`, the best chosen)."""
    sizes = ((sr.width, sr.height), (lr.width, lr.height))
    if scale == "auto":
        factor = infer_scale(*sizes)
    else:
        if not scale.isdigit() or not MIN_SCALE <= int(scale) <= MAX_SCALE:
            raise ImageError(f"must be auto or an integer in [{MIN_SCALE}, {MAX_SCALE}], got {scale!r}", "scale")
        factor = int(scale)
        check_scale(*sizes, factor)
    methods = DOWNSAMPLERS if method == "auto" else (method,)
    results = [measure(sr, lr, factor, m) for m in methods]
    cropped = (lr.width * factor, lr.height * factor)
    return CheckOutcome(
        factor, None if cropped == sizes[0] else cropped, results, best(results), jpeg_agreement(sr, lr, factor)
    )
