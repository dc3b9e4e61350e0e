"""Image quality and consistency metrics (the protocol of ``shared/README.md``)."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

Y_WEIGHTS = (65.481, 128.553, 24.966)


def rgb_to_y(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 luma in [16, 235]: ``Y = 16 + (65.481 R + 128.553 G + 24.966 B)`` for RGB in [0, 1].

    Args:
        rgb: ``(N, 3, H, W)`` float in [0, 1].

    Returns:
        ``(N, 1, H, W)`` float64 in [16, 235].

    Example:
        >>> rgb_to_y(torch.ones(1, 3, 1, 1)).item()
        235.0
    """
    weights = torch.tensor(Y_WEIGHTS, dtype=torch.float64, device=rgb.device).view(1, 3, 1, 1)
    return 16.0 + (rgb.to(torch.float64) * weights).sum(dim=1, keepdim=True)


def full_range_luma(rgb: torch.Tensor) -> torch.Tensor:
    """Full-range BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` in levels of 255 (``(N, 1, H, W)`` float64) of
    ``(N, 3, H, W)`` RGB in [0, 1]: :func:`rgb_to_y` stretched from [16, 235] to [0, 255].

    Example:
        >>> full_range_luma(torch.ones(1, 3, 1, 1)).item()
        255.0
    """
    return (rgb_to_y(rgb) - 16.0) * (255.0 / 219.0)


def _crop(x: torch.Tensor, border: int) -> torch.Tensor:
    return x[..., border : x.shape[-2] - border, border : x.shape[-1] - border] if border else x


def psnr_from_mse(mse: float, peak: float) -> float:
    """``10 log10(peak² / mse)`` in dB; ``inf`` for a zero error.

    Example:
        >>> psnr_from_mse(1.0, 255.0), psnr_from_mse(0.0, 255.0)
        (48.1308036086791, inf)
    """
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def psnr(a: torch.Tensor, b: torch.Tensor, peak: float) -> float:
    """PSNR in dB of two same-shape tensors, in float64; ``inf`` when they are equal.

    Example:
        >>> round(psnr(torch.zeros(4), torch.full((4,), 0.1), 1.0), 6)
        20.0
    """
    return psnr_from_mse((a.to(torch.float64) - b.to(torch.float64)).square().mean().item(), peak)


def psnr_y(sr: torch.Tensor, hr: torch.Tensor, border: int) -> float:
    """PSNR on BT.601 Y (peak 255) of ``(N, 3, H, W)`` RGB in [0, 1], ``border`` pixels cropped.

    Example:
        >>> hr = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
        >>> psnr_y(hr, hr, border=2)
        inf
    """
    return psnr(_crop(rgb_to_y(sr), border), _crop(rgb_to_y(hr), border), 255.0)


SSIM_WINDOW = 11
"""Side of SSIM's Gaussian window: an image scored needs at least this many pixels a side after its border."""


def _gaussian_window(size: int = SSIM_WINDOW, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-coords.square() / (2 * sigma * sigma))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, size, size)


def ssim(a: torch.Tensor, b: torch.Tensor, peak: float) -> float:
    """Mean SSIM (Gaussian window 11, σ 1.5, valid region) of ``(N, 1, H, W)`` tensors.

    Example:
        >>> a = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 255
        >>> round(ssim(a, a, 255.0), 6), ssim(a, 255 - a, 255.0) < 0
        (1.0, True)
    """
    window = _gaussian_window().to(a.device)
    a, b = a.to(torch.float64), b.to(torch.float64)
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mu_a, mu_b = F.conv2d(a, window), F.conv2d(b, window)
    var_a = F.conv2d(a * a, window) - mu_a.square()
    var_b = F.conv2d(b * b, window) - mu_b.square()
    cov = F.conv2d(a * b, window) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a.square() + mu_b.square() + c1) * (var_a + var_b + c2))
    return index.mean().item()


def ssim_y(sr: torch.Tensor, hr: torch.Tensor, border: int) -> float:
    """SSIM on BT.601 Y (peak 255) of ``(N, 3, H, W)`` RGB in [0, 1], ``border`` pixels cropped.

    Example:
        >>> hr = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> round(ssim_y(hr, hr, border=2), 6)
        1.0
    """
    return ssim(_crop(rgb_to_y(sr), border), _crop(rgb_to_y(hr), border), 255.0)


def consistency_psnr(measured: torch.Tensor, observed: torch.Tensor, max_value: int) -> float:
    """PSNR in dB of ``A(saved output)`` against the observed input, float64, no rounding.

    ``inf`` when the saved output is exactly consistent.

    Example:
        >>> lr = torch.tensor([[10.0, 20.0]])
        >>> consistency_psnr(lr, lr, 255), round(consistency_psnr(lr + 0.5, lr, 255), 2)
        (inf, 54.15)
    """
    return psnr(measured, observed, float(max_value))


def colourfulness(rgb: torch.Tensor) -> float:
    """Hasler–Süsstrunk colourfulness of ``(3, H, W)`` RGB in [0, 255]: ``σ_rgyb + 0.3 μ_rgyb``.

    0 for a gray image (``(1, H, W)`` too); about 20–60 for ordinary photos (rg = R − G,
    yb = (R + G)/2 − B).

    Example:
        >>> red = torch.tensor([[[255.0]], [[0.0]], [[0.0]]])
        >>> colourfulness(torch.full((3, 2, 2), 128.0)), round(colourfulness(red), 1)
        (0.0, 85.5)
    """
    if rgb.shape[0] == 1:
        return 0.0
    r, g, b = rgb.to(torch.float64)
    rg, yb = r - g, (r + g) / 2 - b
    spread = math.sqrt(rg.var(correction=0).item() + yb.var(correction=0).item())
    offset = math.sqrt(rg.mean().item() ** 2 + yb.mean().item() ** 2)
    return spread + 0.3 * offset


def has_colour(color: torch.Tensor) -> bool:
    """True for ``(3, H, W)`` whose channels are not all equal (a gray photo stored as RGB is not).

    Example:
        >>> has_colour(torch.zeros(3, 2, 2)), has_colour(torch.eye(3).view(3, 3, 1))
        (False, True)
    """
    return color.shape[0] == 3 and not (torch.equal(color[0], color[1]) and torch.equal(color[1], color[2]))


def block_border_ratio(rgb: torch.Tensor, block: int) -> float:
    """Mean |luma gradient| across the borders of ``block×block`` blocks over the mean inside them.

    Neighbour differences of BT.601 Y, horizontal and vertical pooled; a pair crosses a border when its
    second pixel starts a block. About 1.00–1.06 for photos; a correction constant per block (PD with
    nearest replication on a network not trained through it) shows as a grid, a ratio above the
    network's own. ``(N, 3, H, W)`` RGB in [0, 1], sides at least ``2·block``.

    Example:
        >>> ramp = torch.linspace(0, 1, 16, dtype=torch.float64).expand(1, 3, 16, 16)
        >>> round(block_border_ratio(ramp, 4), 6)
        1.0
        >>> steps = torch.arange(16).div(4, rounding_mode="floor").expand(1, 3, 16, 16) / 20
        >>> round(block_border_ratio(0.5 * ramp + steps, 4), 2)
        2.5
    """
    y = rgb_to_y(rgb)[:, 0]
    horizontal, vertical = (y[..., 1:] - y[..., :-1]).abs(), (y[..., 1:, :] - y[..., :-1, :]).abs()
    across_h = (torch.arange(1, y.shape[-1], device=y.device) % block) == 0
    across_v = (torch.arange(1, y.shape[-2], device=y.device) % block) == 0
    border = horizontal[..., across_h].sum() + vertical[..., across_v, :].sum()
    inside = horizontal[..., ~across_h].sum() + vertical[..., ~across_v, :].sum()
    border_count = across_h.sum() * horizontal.shape[-2] + across_v.sum() * vertical.shape[-1]
    inside_count = (~across_h).sum() * horizontal.shape[-2] + (~across_v).sum() * vertical.shape[-1]
    return ((border / border_count) / (inside / inside_count)).item() if inside else math.inf


LAPLACIAN = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))


def laplacian_energy(rgb: torch.Tensor, border: int) -> float:
    """Mean squared 4-neighbour Laplacian of BT.601 Y (levels 16–235) of ``(N, 3, H, W)`` RGB in [0, 1],
    ``border`` pixels cropped, valid region: how much fine detail an image holds (0 for a flat one).

    Example:
        >>> flat = torch.full((1, 3, 8, 8), 0.5)
        >>> checkers = (torch.arange(8).view(8, 1) + torch.arange(8)).remainder(2).float().expand(1, 3, 8, 8)
        >>> laplacian_energy(flat, border=1), round(laplacian_energy(checkers, border=1) ** 0.5, 6)  # 4 × 219
        (0.0, 876.0)
    """
    kernel = torch.tensor(LAPLACIAN, dtype=torch.float64, device=rgb.device).view(1, 1, 3, 3)
    return F.conv2d(_crop(rgb_to_y(rgb), border), kernel).square().mean().item()


def detail(sr: torch.Tensor, hr: torch.Tensor, border: int) -> float:
    """Detail energy: :func:`laplacian_energy` of ``sr`` relative to that of the photo ``hr``, both
    ``(N, 3, H, W)`` RGB in [0, 1]; below 1 an output is smoother than the photo, above 1 busier; NaN for a
    photo without any (a flat one).
    (Set5 ×4, mean over images: bicubic 0.04, an L1-trained net about 0.4, GAN-trained ones about 1.)

    Example:
        >>> hr = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> blurred = torch.nn.functional.avg_pool2d(hr, 3, 1, 1, count_include_pad=False)
        >>> detail(hr, hr, border=2), detail(blurred, hr, border=2) < 0.2
        (1.0, True)
    """
    photo = laplacian_energy(hr, border)
    return laplacian_energy(sr, border) / photo if photo else math.nan


def local_variance(x: torch.Tensor, size: int) -> torch.Tensor:
    """Variance (population, ``E[x²] − E[x]²``) of every ``size×size`` window of ``(N, C, H, W)``, valid
    positions only: ``(N, C, H − size + 1, W − size + 1)``, in ``x``'s dtype, never below 0.

    Example:
        >>> local_variance(torch.tensor([[[[0.0, 2.0, 0.0, 2.0]]]]), 1).sum().item()
        0.0
        >>> local_variance(torch.tensor([[[[0.0, 2.0], [0.0, 2.0]]]]), 2).item()
        1.0
    """
    mean = F.avg_pool2d(x, size, stride=1)
    return (F.avg_pool2d(x * x, size, stride=1) - mean.square()).clamp_min(0)


FLAT_LEVELS = 3.0  # of 255: a 5×5 window of the photo with a luma std below it is flat (walls, sky: grain only)
FLAT_WINDOW = 5
FLAT_MARGIN = 4  # pixels: an edge this close, spread by any upsampling, would count as texture painted on


class FalseTexture(NamedTuple):
    """Mean local luma std over the photo's flat pixels: the output's (``output``) and the photo's own (``photo``),
    in levels of 255, and the share of the image that counts as flat (``flat``); NaN means where none does."""

    output: float
    photo: float
    flat: float


def false_texture(
    sr: torch.Tensor, hr: torch.Tensor, border: int, flat: float = FLAT_LEVELS, margin: int = FLAT_MARGIN
) -> FalseTexture:
    """Texture an output paints where the photo is flat: the mean 5×5 local standard deviation of the output's
    luma, and of the photo's, over the pixels where the photo is flat.

    Luma is full-range BT.601, ``0.299 R + 0.587 G + 0.114 B`` in levels of 255 (so ``flat`` counts 8-bit gray
    levels); local std is the population one of each 5×5 window entirely inside the image after cropping
    ``border`` pixels, indexed by its centre. A pixel is flat when every window of the photo centred within
    ``margin`` pixels of it (a ``(2·margin + 1)²`` square) has a std below ``flat``: without the margin, the
    flat pixels beside an edge would score an upsampler's blur of that edge as texture (Set14 ×4: bicubic
    1.96 levels there, above the photo's 1.79). The output's std is taken on the same windows as the photo's.
    Both ``(1, 3, H, W)`` RGB in [0, 1]. A ×4 LR keeps none of the photo's pixel-level grain, so an output
    scores below the photo unless it invents structure: scratches and mottling raise it, smoothing lowers it.
    NaN means when no pixel of the photo is flat (or the cropped image is narrower than a window).

    Example:
        >>> hr = torch.full((1, 3, 16, 16), 0.5)
        >>> false_texture(hr, hr, border=0)
        FalseTexture(output=0.0, photo=0.0, flat=1.0)
        >>> stripes = hr + 0.02 * (torch.arange(16) % 2)  # 5.1 levels more on odd columns
        >>> round(false_texture(stripes, hr, border=0).output, 2)  # 5.1 · √(⅖ · ⅗)
        2.5
    """
    luma = [full_range_luma(_crop(x, border)) for x in (sr, hr)]
    if min(luma[1].shape[-2:]) < FLAT_WINDOW:
        return FalseTexture(math.nan, math.nan, 0.0)
    out_std, hr_std = (local_variance(y, FLAT_WINDOW).sqrt() for y in luma)
    busiest = F.max_pool2d(hr_std, 2 * margin + 1, stride=1, padding=margin) if margin else hr_std
    mask = busiest < flat
    count = mask.sum().item()
    if not count:
        return FalseTexture(math.nan, math.nan, 0.0)
    return FalseTexture(out_std[mask].mean().item(), hr_std[mask].mean().item(), count / mask.numel())
