"""Image quality and consistency metrics (the protocol of ``shared/README.md``)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

Y_WEIGHTS = (65.481, 128.553, 24.966)


def rgb_to_y(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 luma in [16, 235]: ``Y = 16 + (65.481 R + 128.553 G + 24.966 B)`` for RGB in [0, 1].

    Args:
        rgb: ``(N, 3, H, W)`` float in [0, 1].

    Returns:
        ``(N, 1, H, W)`` float64 in [16, 235].
    """
    weights = torch.tensor(Y_WEIGHTS, dtype=torch.float64, device=rgb.device).view(1, 3, 1, 1)
    return 16.0 + (rgb.to(torch.float64) * weights).sum(dim=1, keepdim=True)


def _crop(x: torch.Tensor, border: int) -> torch.Tensor:
    return x[..., border : x.shape[-2] - border, border : x.shape[-1] - border] if border else x


def psnr_from_mse(mse: float, peak: float) -> float:
    """``10 log10(peak² / mse)`` in dB; ``inf`` for a zero error."""
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def psnr(a: torch.Tensor, b: torch.Tensor, peak: float) -> float:
    """PSNR in dB of two same-shape tensors, in float64; ``inf`` when they are equal."""
    return psnr_from_mse((a.to(torch.float64) - b.to(torch.float64)).square().mean().item(), peak)


def psnr_y(sr: torch.Tensor, hr: torch.Tensor, border: int) -> float:
    """PSNR on BT.601 Y (peak 255) of ``(N, 3, H, W)`` RGB in [0, 1], ``border`` pixels cropped."""
    return psnr(_crop(rgb_to_y(sr), border), _crop(rgb_to_y(hr), border), 255.0)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-coords.square() / (2 * sigma * sigma))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, size, size)


def ssim(a: torch.Tensor, b: torch.Tensor, peak: float) -> float:
    """Mean SSIM (Gaussian window 11, σ 1.5, valid region) of ``(N, 1, H, W)`` tensors."""
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
    """SSIM on BT.601 Y (peak 255) of ``(N, 3, H, W)`` RGB in [0, 1], ``border`` pixels cropped."""
    return ssim(_crop(rgb_to_y(sr), border), _crop(rgb_to_y(hr), border), 255.0)


def consistency_psnr(measured: torch.Tensor, observed: torch.Tensor, max_value: int) -> float:
    """PSNR in dB of ``A(saved output)`` against the observed input, float64, no rounding.

    ``inf`` when the saved output is exactly consistent.
    """
    return psnr(measured, observed, float(max_value))


def colourfulness(rgb: torch.Tensor) -> float:
    """Hasler–Süsstrunk colourfulness of ``(3, H, W)`` RGB in [0, 255]: ``σ_rgyb + 0.3 μ_rgyb``.

    0 for a gray image (``(1, H, W)`` too); about 20–60 for ordinary photos (rg = R − G,
    yb = (R + G)/2 − B).
    """
    if rgb.shape[0] == 1:
        return 0.0
    r, g, b = rgb.to(torch.float64)
    rg, yb = r - g, (r + g) / 2 - b
    spread = math.sqrt(rg.var(correction=0).item() + yb.var(correction=0).item())
    offset = math.sqrt(rg.mean().item() ** 2 + yb.mean().item() ** 2)
    return spread + 0.3 * offset


def has_colour(color: torch.Tensor) -> bool:
    """True for ``(3, H, W)`` whose channels are not all equal (a gray photo stored as RGB is not)."""
    return color.shape[0] == 3 and not (torch.equal(color[0], color[1]) and torch.equal(color[1], color[2]))


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
    ``(N, 3, H, W)`` RGB in [0, 1]; below 1 an output is smoother than the photo, above 1 busier.
    (Set5 ×4, mean over images: bicubic 0.04, an L1-trained net about 0.4, GAN-trained ones about 1.)

    Example:
        >>> hr = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> blurred = torch.nn.functional.avg_pool2d(hr, 3, 1, 1, count_include_pad=False)
        >>> detail(hr, hr, border=2), detail(blurred, hr, border=2) < 0.2
        (1.0, True)
    """
    return laplacian_energy(sr, border) / laplacian_energy(hr, border)
