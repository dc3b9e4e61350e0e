"""Consistency with a JPEG input's own file: the LR a saved upscale reduces to is one whose encoding with the
file's tables gives the file's coefficients (:mod:`srcli.maths.jpeg`), not the decoded pixels.

:func:`consistent_lr` picks that integer LR near the network's box-downsampled estimate (projected onto the
quantization bins, checked and repaired with the real encoder); :func:`file_agreement` measures any saved
upscale against the file the same way: reduce, encode with the file's tables, compare coefficients.
Orientation: the file codes the stored pixels, so the LR is turned back to them before it meets the bins.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from srcli.errors import ImageError
from srcli.io.images import Picture, orient, unorient
from srcli.io.jpeg_files import encode_like, read_coefficients
from srcli.maths.box import box_rounded
from srcli.maths.jpeg import Agreement, JpegCoefficients, Smoothness, agreement, shrink_to_centres, smooth_to_bins
from srcli.maths.jpeg_search import integer_antecedent


@dataclass(frozen=True)
class JpegInput:
    """A JPEG input as data: its coefficients, and how its pixels were turned for display."""

    coefficients: JpegCoefficients
    orientation: int
    decoded: torch.Tensor  # (C, h, w) uint8, as displayed

    def stored(self, channels: torch.Tensor) -> torch.Tensor:
        """``(C, h, w)`` as displayed → ``(1, C, h, w)`` as the file stores them."""
        return unorient(channels, self.orientation).unsqueeze(0)

    def encode(self, stored: torch.Tensor) -> JpegCoefficients:
        """The coefficients of a stored-orientation ``(1, C, h, w)`` uint8 image under this file's tables."""
        return encode_like(stored, self.coefficients)


def jpeg_input(picture: Picture) -> JpegInput | None:
    """The JPEG data of a picture read from a JPEG file, None for other files. Raises :class:`ImageError` for a
    JPEG whose coefficients srcli cannot model (CMYK, odd sampling, not YCbCr)."""
    if picture.jpeg is None:
        return None
    if picture.bit_depth != 8 or picture.alpha is not None:
        raise ImageError(f"a {picture.mode} JPEG cannot be projected onto its coefficients")
    coefficients = read_coefficients(picture.jpeg)
    if (coefficients.chroma is None) != (picture.color.shape[0] == 1):
        raise ImageError("the JPEG's components do not match its decoded colour; use --degradation box")
    jpeg = JpegInput(coefficients, picture.orientation, picture.color)
    if tuple(jpeg.stored(picture.color).shape[-2:]) != coefficients.size:
        raise ImageError("the JPEG's coded size does not match its pixels; use --degradation box")
    return jpeg


def consistent_lr(
    jpeg: JpegInput, estimate: torch.Tensor, smoothness: Smoothness = Smoothness(), shrink: torch.Tensor | None = None
) -> tuple[torch.Tensor, Agreement]:
    """The 8-bit LR ``(C, h, w)`` (as displayed) the saved upscale reduces to: the network's box-downsampled
    estimate ``(C, h, w)`` float in levels, moved into the file's bins (:func:`srcli.maths.jpeg.smooth_to_bins` with
    ``smoothness``; the default is the Euclidean projection), with ``shrink`` ``(2, 8, 8)`` (luma, chroma per
    frequency, in [0, 1]) moved that far from each bin's centre (:func:`srcli.maths.jpeg.shrink_to_centres`; None
    leaves it) and made integer with the real encoder's check (:func:`srcli.maths.jpeg_search.integer_antecedent`);
    and how much of the file it reproduces."""
    stored = jpeg.stored(estimate.to(torch.float64).clamp(0, 255))
    smooth = smoothness != Smoothness()  # the Euclidean projection is integer_antecedent's own first step
    if smooth:
        stored = smooth_to_bins(stored, jpeg.coefficients, smoothness).clamp(0, 255)
    if shrink is not None:  # towards the centres from a clipped MCU: not in the bins
        stored = shrink_to_centres(stored, jpeg.coefficients, shrink).clamp(0, 255)
    fallback = jpeg.stored(jpeg.decoded)
    in_bins = smooth and shrink is None
    lr, found = integer_antecedent(stored, jpeg.coefficients, jpeg.encode, fallback=fallback, in_bins=in_bins)
    return orient(lr[0], jpeg.orientation), found


def file_agreement(jpeg: JpegInput, saved: torch.Tensor, scale: int) -> Agreement:
    """How much of the file a saved upscale ``(C, s·h, s·w)`` reproduces: its ``Image.reduce`` LR encoded with the
    file's tables, coefficients and MCUs compared."""
    lr = box_rounded(saved, scale).clamp(0, 255).to(torch.uint8)
    return agreement(jpeg.encode(jpeg.stored(lr)), jpeg.coefficients)


def agreement_json(found: Agreement) -> dict[str, object]:
    """The record's fields for a JPEG input: the share of coefficients and of MCUs the saved file reproduces."""
    return {
        "consistency": "jpeg",
        "jpeg_coefficients_reproduced": round(found.fraction, 6),
        "jpeg_mcus_reproduced": f"{found.mcus}/{found.total_mcus}",
        "jpeg_exact": found.exact,
    }
