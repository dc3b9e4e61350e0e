"""Blur kernels in srcli's convention (centred on the middle pixel, summing to 1): anisotropic Gaussian and motion.

``(size, size)`` float64 tensors with ``size`` odd, for :class:`srcli.maths.degradations.BlurDecimate` and
:class:`srcli.maths.degradations.ReflectBlur`.
"""

from __future__ import annotations

import math

import torch


def gaussian_kernel(sigma_x: float, sigma_y: float, theta: float) -> torch.Tensor:
    """An anisotropic Gaussian, ``sigma_x`` and ``sigma_y`` HR pixels along axes turned by ``theta`` degrees,
    on an odd square of side ``2⌈3·max σ⌉ + 1``, summing to 1.

    Example:
        >>> kernel = gaussian_kernel(2.0, 0.5, 0.0)
        >>> kernel.shape, bool(kernel.sum(0).max() < kernel.sum(1).max())  # wide along x, thin along y
        (torch.Size([13, 13]), True)
    """
    radius = math.ceil(3 * max(sigma_x, sigma_y))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    row, col = torch.meshgrid(offsets, offsets, indexing="ij")
    angle = math.radians(theta)
    along = col * math.cos(angle) + row * math.sin(angle)
    across = -col * math.sin(angle) + row * math.cos(angle)
    kernel = torch.exp(-0.5 * ((along / sigma_x) ** 2 + (across / sigma_y) ** 2))
    return kernel / kernel.sum()


def motion_kernel(length: float, theta: float) -> torch.Tensor:
    """Linear motion blur: a segment ``length`` HR pixels long at ``theta`` degrees, drawn with bilinear
    weights at 16 samples per pixel, on an odd square, summing to 1.

    Example:
        >>> kernel = motion_kernel(5, 0)
        >>> kernel.shape, [round(v, 3) for v in kernel[kernel.shape[0] // 2].tolist()]
        (torch.Size([9, 9]), [0.0, 0.028, 0.176, 0.197, 0.197, 0.197, 0.176, 0.028, 0.0])
    """
    radius = math.ceil(length / 2) + 1
    size = 2 * radius + 1
    kernel = torch.zeros(size, size, dtype=torch.float64)
    samples = max(2, round(16 * length))
    steps = torch.linspace(-length / 2, length / 2, samples, dtype=torch.float64)
    cols = radius + steps * math.cos(math.radians(theta))
    rows = radius - steps * math.sin(math.radians(theta))
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        r0, c0 = math.floor(r), math.floor(c)
        fr, fc = r - r0, c - c0
        for dr, wr in ((0, 1 - fr), (1, fr)):
            for dc, wc in ((0, 1 - fc), (1, fc)):
                kernel[r0 + dr, c0 + dc] += wr * wc
    return kernel / kernel.sum()
