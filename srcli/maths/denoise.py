"""Gaussian denoising of an image of known noise level: sliding-window DCT shrinkage, then a Wiener pass.

Two passes over every 8×8 window (stride 1 by default) of each channel, in an orthonormal opponent colour
space (``(R+G+B)/√3``, ``(R−B)/√2``, ``(R−2G+B)/√6``: i.i.d. noise of level σ per RGB channel stays i.i.d. σ
there, while the image's energy gathers in the first channel):

1. hard thresholding of each window's DCT coefficients at :data:`HARD_THRESHOLD` σ (the mean kept);
2. empirical Wiener filtering of the noisy coefficients with the first pass as pilot, ``P² / (P² + σ²)``
   (the mean kept again).

Each pass puts the windows back by a weighted average, weights ``1 / (σ² · Σ gains²)`` (windows that kept
little weigh more), as BM3D aggregates. It is BM3D without the block matching: a classical, training-free
estimate of the clean image, used to separate the noise from the LR before PD.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

WINDOW = 8
HARD_THRESHOLD = 2.7
"""Coefficients below this many σ are dropped in the first pass (BM3D's λ₃D for σ ≤ 40)."""
OPPONENT = torch.tensor(
    [
        [1 / math.sqrt(3), 1 / math.sqrt(3), 1 / math.sqrt(3)],
        [1 / math.sqrt(2), 0.0, -1 / math.sqrt(2)],
        [1 / math.sqrt(6), -2 / math.sqrt(6), 1 / math.sqrt(6)],
    ],
    dtype=torch.float64,
)
"""Orthonormal RGB → opponent colour transform (rows)."""


def dct_matrix(n: int) -> torch.Tensor:
    """The orthonormal DCT-II as an ``(n, n)`` float64 matrix (rows are the basis vectors)."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    basis = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    basis[0] /= math.sqrt(2)
    return basis


def _windows(channel: torch.Tensor, stride: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """``(H, W)`` → its ``WINDOW²`` windows as ``(L, WINDOW, WINDOW)`` and the padded size (reflected so the
    stride covers the border)."""
    height, width = channel.shape
    pad_h = (-(height - WINDOW)) % stride if height > WINDOW else WINDOW - height
    pad_w = (-(width - WINDOW)) % stride if width > WINDOW else WINDOW - width
    padded = F.pad(channel[None, None], (0, pad_w, 0, pad_h), mode="replicate")
    patches = F.unfold(padded, WINDOW, stride=stride)[0].T.reshape(-1, WINDOW, WINDOW)
    return patches, (height + pad_h, width + pad_w)


def _aggregate(patches: torch.Tensor, weights: torch.Tensor, size: tuple[int, int], stride: int) -> torch.Tensor:
    """Weighted average of overlapping windows ``(L, WINDOW, WINDOW)`` with one weight per window ``(L,)``."""
    columns = (patches * weights[:, None, None]).reshape(-1, WINDOW * WINDOW).T[None]
    total = F.fold(columns, size, WINDOW, stride=stride)
    norm = F.fold(weights[None, None].expand(1, WINDOW * WINDOW, -1), size, WINDOW, stride=stride)
    return (total / norm)[0, 0]


def _denoise_channel(channel: torch.Tensor, sigma: float, stride: int) -> torch.Tensor:
    """One channel ``(H, W)`` float64, noise level ``sigma`` in its units → the two-pass estimate ``(H, W)``."""
    height, width = channel.shape
    basis = dct_matrix(WINDOW).to(channel)
    patches, size = _windows(channel, stride)
    noisy = basis @ patches @ basis.T
    keep = noisy.abs() >= HARD_THRESHOLD * sigma
    keep[:, 0, 0] = True
    hard = noisy * keep
    weights = 1.0 / (sigma * sigma * keep.sum((1, 2)).to(channel))
    pilot = _aggregate(basis.T @ hard @ basis, weights, size, stride)[:height, :width]
    pilot_coefficients = basis @ _windows(pilot, stride)[0] @ basis.T
    gain = pilot_coefficients.square() / (pilot_coefficients.square() + sigma * sigma)
    gain[:, 0, 0] = 1.0  # the mean is kept, as in the first pass
    weights = 1.0 / (sigma * sigma * gain.square().sum((1, 2)).clamp_min(1e-12))
    return _aggregate(basis.T @ (gain * noisy) @ basis, weights, size, stride)[:height, :width]


def denoise(image: torch.Tensor, sigma: float, stride: int = 1) -> torch.Tensor:
    """``(C, H, W)`` noisy image (any units; C = 1 or 3) with i.i.d. Gaussian noise of level ``sigma`` in those
    units → its estimate ``(C, H, W)`` float64. ``sigma = 0`` returns the image unchanged; ``stride`` > 1 uses
    every ``stride``-th window (faster, a little worse).

    Example:
        >>> clean = torch.linspace(0, 200, 32, dtype=torch.float64).expand(3, 32, 32)
        >>> noisy = clean + 5 * torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        >>> bool((denoise(noisy, 5.0) - clean).square().mean().sqrt() < 2.0)
        True
    """
    image = image.to(torch.float64)
    if sigma <= 0:
        return image.clone()
    colour = image.shape[0] == 3
    opponent = torch.einsum("ij,jhw->ihw", OPPONENT, image) if colour else image
    estimate = torch.stack([_denoise_channel(channel, sigma, stride) for channel in opponent])
    return torch.einsum("ji,jhw->ihw", OPPONENT, estimate) if colour else estimate
