"""NIQE, the Natural Image Quality Evaluator (Mittal, Soundararajan and Bovik, IEEE SPL 2013).

A blind quality score: the distance between a multivariate Gaussian fitted to the natural-scene
statistics of an image's 96×96 patches and one fitted to those of pristine photos. Lower is more
natural. Per patch and per scale (the image and its half), 18 features of the MSCN coefficients
``(I − μ)/(σ + 1)`` (Gaussian window 7×7, σ = 7/6):

- the generalized Gaussian (GGD) of the coefficients, shape ``α`` and scale ``β``, fitted by moment
  matching as the authors' release does it: an asymmetric GGD whose two scales are averaged (for a
  symmetric histogram, the GGD fit itself);
- for the products of each coefficient with its right, lower, lower-right and upper-right neighbour,
  an asymmetric GGD fitted by moment matching: shape ``ν``, mean ``η``, left and right scales.

Luma is BT.601 Y in [16, 235] rounded to integers (as MATLAB's ``rgb2ycbcr`` of an 8-bit image), the
half scale is MATLAB's antialiased bicubic ``imresize(·, 0.5)``, and padding is MATLAB's
``replicate``; with MATLAB's published pristine parameters these features give MATLAB's scores
(checked against BasicSR's port, which matches MATLAB R2021a to 1e-5 on its example; see
``benchmarks/peers/niqe_check_basicsr.py``). The
pristine model is fitted from a folder of photos by :func:`fit_pristine`, keeping in every photo the
patches whose mean local deviation is at least 0.75 of its sharpest patch's, as the paper does.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from srcli.maths.metrics import rgb_to_y

PATCH = 96
"""Patch side in pixels at full scale (half of it at the half scale)."""
SHARPNESS_THRESHOLD = 0.75
"""Pristine patches: mean local deviation at least this fraction of the photo's sharpest patch's."""
FEATURES = 36
ROUND_OFF = 1e-8
"""Values smaller than this (coefficients and their products) are round-off of a flat area and count as 0
in the fits (else their signs, which differ between any two implementations, decide flat patches' fits)."""
SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))
"""Neighbour of each product, as MATLAB ``circshift`` offsets (rows, columns) within the patch."""


@dataclass(frozen=True)
class PristineModel:
    """The multivariate Gaussian of pristine patch features: ``mean`` ``(36,)``, ``cov`` ``(36, 36)``,
    float64, fitted from ``patches`` patches."""

    mean: torch.Tensor
    cov: torch.Tensor
    patches: int


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 Y in [16, 235], rounded, of ``(1, 3, H, W)`` RGB or ``(1, 1, H, W)`` gray in [0, 1]: ``(H, W)`` float64.

    Example:
        >>> luma(torch.tensor([1.0, 0.5]).view(1, 1, 1, 2)).tolist()
        [[235.0, 126.0]]
    """
    if rgb.shape[1] == 1:
        rgb = rgb.expand(-1, 3, -1, -1)
    return rgb_to_y(rgb)[0, 0].round()


@functools.cache
def _window() -> torch.Tensor:
    coords = torch.arange(7, dtype=torch.float64) - 3
    g = torch.exp(-coords.square() / (2 * (7 / 6) ** 2))
    return (g[:, None] * g[None, :] / g.sum() ** 2).view(1, 1, 7, 7)


def mscn(gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean-subtracted contrast-normalised coefficients of ``(H, W)`` float64 gray in [0, 255], and the
    local deviation ``σ`` they are divided by (``+ 1``), both ``(H, W)``.

    Example:
        >>> coefficients, sigma = mscn(torch.full((8, 8), 100.0, dtype=torch.float64))  # flat: no contrast
        >>> coefficients.abs().max().item() < 1e-12, sigma.max().item() < 1e-3
        (True, True)
    """
    x = F.pad(gray[None, None], (3, 3, 3, 3), mode="replicate")
    window = _window().to(gray.device)
    mu = F.conv2d(x, window)[0, 0]
    sigma = (F.conv2d(x * x, window)[0, 0] - mu.square()).abs().sqrt()
    return (gray - mu) / (sigma + 1), sigma


@functools.cache
def _halving_kernel() -> torch.Tensor:
    """MATLAB's bicubic (a = −0.5) stretched for ×0.5 with antialiasing: 8 taps at ±0.5 … ±3.5."""

    def cubic(t: float) -> float:
        t = abs(t)
        if t <= 1:
            return 1.5 * t**3 - 2.5 * t**2 + 1
        return -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2 if t < 2 else 0.0

    taps = torch.tensor([cubic(0.5 * (d + 0.5)) for d in range(-4, 4)], dtype=torch.float64)
    return taps / taps.sum()


def halve(gray: torch.Tensor) -> torch.Tensor:
    """MATLAB's ``imresize(gray, 0.5)`` (bicubic, antialiased, symmetric borders) of ``(H, W)`` float64
    with even sides: ``(H/2, W/2)``, not rounded.

    Example:
        >>> ramp = torch.arange(16.0, dtype=torch.float64).repeat(16, 1)  # inside, the mean of each pair
        >>> halve(ramp)[0, 2:6].tolist(), halve(torch.full((8, 8), 7.0, dtype=torch.float64)).unique().tolist()
        ([4.5, 6.5, 8.5, 10.5], [7.0])
    """
    kernel = _halving_kernel().to(gray.device)
    x = gray[None, None]
    for dim in (-1, -2):
        x = torch.cat([x.narrow(dim, 0, 3).flip(dim), x, x.narrow(dim, x.shape[dim] - 3, 3).flip(dim)], dim)
        shape = (1, 1, 1, 8) if dim == -1 else (1, 1, 8, 1)
        x = F.conv2d(x, kernel.view(shape), stride=(1, 2) if dim == -1 else (2, 1))
    return x[0, 0]


@functools.cache
def _shape_table() -> tuple[torch.Tensor, torch.Tensor]:
    """Shapes ``α`` = 0.2, 0.201, …, 10 and ``ρ(α) = Γ(2/α)² / (Γ(1/α) Γ(3/α))``, increasing in ``α``."""
    alpha = torch.arange(200, 10001, dtype=torch.float64) / 1000
    rho = torch.exp(2 * torch.lgamma(2 / alpha) - torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha))
    return alpha, rho


def _match_shape(ratio: torch.Tensor) -> torch.Tensor:
    """The grid ``α`` whose ``ρ(α)`` is nearest ``ratio`` (any shape; NaN stays NaN)."""
    alpha, rho = _shape_table()
    alpha, rho = alpha.to(ratio.device), rho.to(ratio.device)
    upper = torch.searchsorted(rho, ratio.nan_to_num(0.0).contiguous()).clamp(1, len(rho) - 1)
    lower = upper - 1
    nearest = torch.where((ratio - rho[lower]).abs() <= (rho[upper] - ratio).abs(), lower, upper)
    return torch.where(ratio.isnan(), torch.nan, alpha[nearest])


def _scale_factor(alpha: torch.Tensor) -> torch.Tensor:
    """``sqrt(Γ(1/α) / Γ(3/α))``: a GGD's scale ``β`` is its standard deviation times this."""
    return torch.exp(0.5 * (torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha)))


def aggd_fit(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Asymmetric generalized Gaussian fitted to each row of ``(B, n)`` float64 by moment matching
    (Lasmar, Stitou and Berthoumieu 2009): shape ``ν``, mean ``η = (β_r − β_l) Γ(2/ν)/Γ(1/ν)``, left
    and right scales ``β_l``, ``β_r``, each ``(B,)``. Values under :data:`ROUND_OFF` count as 0; a row with
    no negative or no positive value gives NaN.

    Example:
        >>> g = torch.Generator().manual_seed(0)  # ν 2, β_l √2, β_r 2√2: left with odds β_l : β_r
        >>> size = torch.randn(1, 100000, generator=g, dtype=torch.float64).abs()
        >>> x = torch.where(torch.rand(1, 100000, generator=g) < 1 / 3, -size, 2 * size)
        >>> [round(value.item(), 1) for value in aggd_fit(x)]
        [2.0, 0.8, 1.4, 2.8]
    """
    x = torch.where(x.abs() < ROUND_OFF, 0.0, x)
    negative, positive = x < 0, x > 0
    left = ((x.square() * negative).sum(-1) / negative.sum(-1)).sqrt()
    right = ((x.square() * positive).sum(-1) / positive.sum(-1)).sqrt()
    gamma_hat = left / right
    r_hat = x.abs().mean(-1).square() / x.square().mean(-1)
    ratio = r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat.square() + 1).square()
    nu = _match_shape(ratio)
    factor = _scale_factor(nu)
    beta_left, beta_right = left * factor, right * factor
    eta = (beta_right - beta_left) * torch.exp(torch.lgamma(2 / nu) - torch.lgamma(1 / nu))
    return nu, eta, beta_left, beta_right


def patch_features(coefficients: torch.Tensor) -> torch.Tensor:
    """The 18 features of each patch of ``(B, h, w)`` MSCN coefficients: ``(B, 18)`` float64 (shape and
    mean scale of the coefficients, then ν, η, β_l, β_r of the products with each of :data:`SHIFTS`,
    each product taken within its patch, wrapping round as MATLAB's ``circshift``).

    Example:
        >>> patch_features(torch.randn(2, 48, 48, dtype=torch.float64)).shape
        torch.Size([2, 18])
    """
    flat = coefficients.flatten(1)
    shape, _, beta_left, beta_right = aggd_fit(flat)
    columns = [shape, (beta_left + beta_right) / 2]
    for shift in SHIFTS:
        neighbours = torch.roll(coefficients, shift, dims=(-2, -1)).flatten(1)
        columns += aggd_fit(flat * neighbours)
    return torch.stack(columns, dim=1)


def _patches(x: torch.Tensor, side: int) -> torch.Tensor:
    """``(a·side, b·side)`` → ``(a·b, side, side)``, row by row."""
    rows, cols = x.shape[0] // side, x.shape[1] // side
    return x.view(rows, side, cols, side).permute(0, 2, 1, 3).reshape(rows * cols, side, side)


def image_features(gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of every full 96×96 patch of ``(H, W)`` float64 gray in [0, 255], cropped at the right and
    bottom to a multiple of 96: ``(P, 36)`` (18 at full scale, 18 at half scale) and each patch's
    sharpness (mean local deviation at full scale) ``(P,)``. ``P`` is 0 for an image under 96 pixels.

    Example:
        >>> gray = torch.rand(192, 100, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 255
        >>> features, sharpness = image_features(gray)
        >>> tuple(features.shape), tuple(sharpness.shape)
        ((2, 36), (2,))
    """
    height, width = gray.shape[0] // PATCH * PATCH, gray.shape[1] // PATCH * PATCH
    if not height or not width:
        return torch.empty(0, FEATURES, dtype=torch.float64), torch.empty(0, dtype=torch.float64)
    image = gray[:height, :width].to(torch.float64)
    scales, sharpness = [], torch.empty(0)
    for level in range(2):
        coefficients, sigma = mscn(image)
        scales.append(patch_features(_patches(coefficients, PATCH >> level)))
        if level == 0:
            sharpness = _patches(sigma, PATCH).mean(dim=(-2, -1))
            image = halve(image)
    return torch.cat(scales, dim=1), sharpness


def gaussian_distance(model: PristineModel, features: torch.Tensor) -> float:
    """NIQE's distance ``sqrt((μ_p − μ)ᵀ ((Σ_p + Σ)/2)⁺ (μ_p − μ))`` between the pristine Gaussian and one
    fitted to ``(P, 36)`` patch features by :func:`model_of`; NaN with fewer than 2 complete patches.

    Example:
        >>> model = PristineModel(torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64), 10)
        >>> round(gaussian_distance(model, torch.tensor([[1.0, 0.0], [3.0, 0.0]], dtype=torch.float64)), 6)
        1.632993
    """
    image = model_of(features)
    if image.patches < 2:
        return math.nan
    delta = model.mean.to(image.mean.device) - image.mean
    pooled = (model.cov.to(image.cov.device) + image.cov) / 2
    return math.sqrt(max(0.0, (delta @ torch.linalg.pinv(pooled) @ delta).item()))


def niqe(rgb: torch.Tensor, model: PristineModel) -> float:
    """NIQE of ``(1, 3, H, W)`` RGB or ``(1, 1, H, W)`` gray in [0, 1] against a pristine model; lower
    is more natural. NaN for an image with fewer than two full 96×96 patches (its score is undefined).

    Example (a clean random texture scores better than the same texture blurred):
        >>> g = torch.Generator().manual_seed(0)
        >>> reference = fit_pristine([torch.rand(1, 3, 192, 192, generator=g) for _ in range(4)], threshold=0)
        >>> image = torch.rand(1, 3, 192, 192, generator=g)
        >>> blurred = torch.nn.functional.avg_pool2d(image, 5, 1, 2, count_include_pad=False)
        >>> niqe(image, reference) < niqe(blurred, reference)
        True
    """
    return gaussian_distance(model, image_features(luma(rgb))[0])


def sharpest(features: torch.Tensor, sharpness: torch.Tensor, threshold: float = SHARPNESS_THRESHOLD) -> torch.Tensor:
    """The rows of ``(P, 36)`` patch features whose sharpness ``(P,)`` is at least ``threshold`` times the
    largest (the paper's selection of pristine patches within one photo, T = 0.75).

    Example:
        >>> sharpest(torch.arange(3.0).view(3, 1), torch.tensor([1.0, 8.0, 10.0])).tolist()
        [[1.0], [2.0]]
    """
    return features[sharpness >= threshold * sharpness.max()] if len(sharpness) else features


def pristine_patches(rgb: torch.Tensor, threshold: float = SHARPNESS_THRESHOLD) -> torch.Tensor:
    """The features ``(P, 36)`` of the :func:`sharpest` patches of one pristine photo, ``(1, 3, H, W)`` in [0, 1].

    Example:
        >>> photo = torch.rand(1, 3, 192, 288, generator=torch.Generator().manual_seed(0))
        >>> pristine_patches(photo, threshold=0).shape
        torch.Size([6, 36])
    """
    return sharpest(*image_features(luma(rgb)), threshold)


def fit_pristine(photos: list[torch.Tensor], threshold: float = SHARPNESS_THRESHOLD) -> PristineModel:
    """The pristine model: the :func:`model_of` the selected patch features of ``photos`` (each
    ``(1, 3, H, W)`` in [0, 1]).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> model = fit_pristine([torch.rand(1, 3, 192, 192, generator=g) for _ in range(2)], threshold=0)
        >>> tuple(model.mean.shape), tuple(model.cov.shape), model.patches
        ((36,), (36, 36), 8)
    """
    return model_of(torch.cat([pristine_patches(photo, threshold) for photo in photos]))


def model_of(features: torch.Tensor) -> PristineModel:
    """The Gaussian of ``(P, 36)`` patch features as MATLAB's release fits it: the mean of each feature over
    the patches where it is defined (``nanmean``), the covariance over the patches where all are
    (``nancov``); ``patches`` counts those. (A flat patch has no negative products: NaN features.)

    Example:
        >>> features = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, math.nan]], dtype=torch.float64)
        >>> model = model_of(features)
        >>> model.mean.tolist(), model.cov.tolist(), model.patches
        ([2.0, 1.0], [[2.0, 0.0], [0.0, 0.0]], 2)
    """
    features = features.to(torch.float64)
    features = torch.where(torch.isfinite(features), features, torch.nan)
    complete = features[~features.isnan().any(dim=1)]
    columns = features.shape[1]
    cov = torch.cov(complete.T) if len(complete) > 1 else torch.full((columns, columns), torch.nan, dtype=torch.float64)
    return PristineModel(features.nanmean(dim=0), cov, len(complete))
