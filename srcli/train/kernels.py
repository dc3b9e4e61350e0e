"""Random blur kernels for training a kernel-conditioned network (and for benchmarks that need a fixed set):
isotropic and anisotropic Gaussians, motion along a random trajectory, and the bicubic kernel of the scale.

Every kernel is ``(size, size)`` float64 (``size`` odd), summing to 1, drawn from a ``torch.Generator`` alone,
in srcli's convention (:class:`srcli.maths.degradations.BlurDecimate`: centred on the middle pixel, convolved).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from srcli.maths.blur_kernels import gaussian_kernel
from srcli.maths.degradations import interior_kernel

KINDS = ("isotropic", "anisotropic", "motion", "bicubic")
SIGMA_RANGE = (0.2, 4.0)
"""Gaussian widths drawn, HR pixels (the upper end reaches a 25-pixel kernel's 3σ)."""


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator, dtype=torch.float64))


def centred(kernel: torch.Tensor, size: int) -> torch.Tensor:
    """``kernel`` (odd sides) zero-padded to ``(size, size)`` around its middle pixel, or cut to it and
    renormalised to its sum where it is larger."""
    rows, cols = (size - kernel.shape[0]) // 2, (size - kernel.shape[1]) // 2
    fitted = F.pad(kernel, (cols, size - kernel.shape[1] - cols, rows, size - kernel.shape[0] - rows))
    return fitted if rows >= 0 and cols >= 0 else fitted * (kernel.sum() / fitted.sum())


def _gaussian(generator: torch.Generator, size: int, isotropic: bool) -> torch.Tensor:
    top = min(SIGMA_RANGE[1], (size // 2) / 3)
    sigma_x = _uniform(generator, SIGMA_RANGE[0], top)
    sigma_y = sigma_x if isotropic else _uniform(generator, SIGMA_RANGE[0], top)
    theta = 0.0 if isotropic else _uniform(generator, 0.0, 180.0)
    return centred(gaussian_kernel(sigma_x, sigma_y, theta), size)


def trajectory_kernel(generator: torch.Generator, size: int) -> torch.Tensor:
    """Camera shake: a particle with inertia (its heading turns by random steps, its speed varies), the
    path scaled to a random length between 2 pixels and most of the kernel (and into it), its centre of mass
    on the middle pixel (the blur moves nothing on average), drawn with bilinear weights.

    Example:
        >>> kernel = trajectory_kernel(torch.Generator().manual_seed(0), 25)
        >>> kernel.shape, round(float(kernel.sum()), 6), bool((kernel >= 0).all())
        (torch.Size([25, 25]), 1.0, True)
    """
    steps = 48
    turning = _uniform(generator, 0.0, 0.5)  # radians per step, typical
    heading = _uniform(generator, 0.0, 2 * math.pi) + torch.cumsum(
        turning * torch.randn(steps, generator=generator, dtype=torch.float64), 0
    )
    speed = (1 + 0.5 * torch.randn(steps, generator=generator, dtype=torch.float64)).clamp_min(0.1)
    path = torch.cumsum(torch.stack((heading.sin(), heading.cos()), 1) * speed[:, None], 0)
    extent = max(float((path.amax(0) - path.amin(0)).max()), 1e-9)
    path = path / extent * _uniform(generator, 2.0, size - 6.0)
    samples = torch.linspace(0, steps - 1, 8 * steps * max(1, size // 8), dtype=torch.float64)
    low = samples.floor().long().clamp_max(steps - 2)
    fraction = (samples - low)[:, None]
    points = path[low] * (1 - fraction) + path[low + 1] * fraction
    middle = size // 2
    points = points - points.mean(0)
    points = points * min(1.0, (middle - 1) / max(float(points.abs().max()), 1e-9)) + middle  # inside, centroid kept
    top_left = points.floor().long()
    share = points - top_left
    kernel = torch.zeros(size, size, dtype=torch.float64)
    for dr in (0, 1):
        for dc in (0, 1):
            weight = (share[:, 0] if dr else 1 - share[:, 0]) * (share[:, 1] if dc else 1 - share[:, 1])
            rows, cols = (top_left[:, 0] + dr).clamp_max(size - 1), (top_left[:, 1] + dc).clamp_max(size - 1)
            kernel.index_put_((rows, cols), weight, accumulate=True)
    return kernel / kernel.sum()


def random_kernel(generator: torch.Generator, scale: int, size: int) -> torch.Tensor:
    """One of :data:`KINDS`, equally likely: a Gaussian of width in :data:`SIGMA_RANGE` (cut to the kernel),
    an anisotropic one at a random angle, a :func:`trajectory_kernel`, or the bicubic kernel of ``scale``
    (Pillow's, :func:`srcli.maths.degradations.interior_kernel`; a delta at scale 1). ``(size, size)``, ``size`` odd."""
    kind = KINDS[int(torch.randint(len(KINDS), (), generator=generator))]
    if kind == "motion":
        return trajectory_kernel(generator, size)
    if kind == "bicubic":
        return centred(interior_kernel("bicubic", scale), size)
    return _gaussian(generator, size, isotropic=kind == "isotropic")
