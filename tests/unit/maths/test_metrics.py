"""The metrics on hand-worked images and against an independent SSIM: PSNR-Y's crop and luma, SSIM's constants and
window (Wang et al. 2004, computed here pixel by pixel with centred moments), the block-border ratio's counts on
non-square images, false texture's scale and its no-score results, colourfulness (Hasler–Süsstrunk), the Laplacian
detail energy and the consistency PSNR."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from srcli.maths.metrics import (
    block_border_ratio,
    colourfulness,
    consistency_psnr,
    detail,
    false_texture,
    has_colour,
    laplacian_energy,
    psnr_from_mse,
    psnr_y,
    ssim,
    ssim_y,
)


def _reference_ssim(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    """Mean SSIM of two 2-D arrays over every 11×11 window inside them: Gaussian weights (σ 1.5, centred on the
    window's middle pixel, summing to 1), weighted means, centred variances and covariance, K1 0.01, K2 0.03."""
    offsets = np.arange(11) - 5
    g = np.array([math.exp(-(k * k) / (2 * 1.5 * 1.5)) for k in offsets])
    weights = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    scores = []
    for i in range(a.shape[0] - 10):
        for j in range(a.shape[1] - 10):
            wa, wb = a[i : i + 11, j : j + 11], b[i : i + 11, j : j + 11]
            mu_a, mu_b = (weights * wa).sum(), (weights * wb).sum()
            var_a, var_b = (weights * (wa - mu_a) ** 2).sum(), (weights * (wb - mu_b) ** 2).sum()
            cov = (weights * (wa - mu_a) * (wb - mu_b)).sum()
            scores.append((2 * mu_a * mu_b + c1) * (2 * cov + c2) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)))
    return float(np.mean(scores))


def test_ssim_of_two_flat_images_is_the_luminance_term_alone():
    """Flat images have no variance: SSIM is ``(2 μa μb + C1) / (μa² + μb² + C1)`` with ``C1 = (0.01 · 255)²``."""
    a, b = torch.full((1, 1, 12, 12), 100.0), torch.full((1, 1, 12, 12), 120.0)
    c1 = 2.55**2
    assert ssim(a, b, 255.0) == pytest.approx((2 * 100 * 120 + c1) / (100**2 + 120**2 + c1), rel=1e-12)
    assert ssim(a, a, 255.0) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(("height", "width"), [(11, 11), (14, 19)])
def test_ssim_matches_a_window_by_window_computation(height, width, generator):
    a = torch.rand(1, 1, height, width, generator=generator, dtype=torch.float64) * 255
    b = (a + 40 * torch.randn(1, 1, height, width, generator=generator, dtype=torch.float64)).clamp(0, 255)
    expected = _reference_ssim(a[0, 0].numpy(), b[0, 0].numpy(), 255.0)
    assert ssim(a, b, 255.0) == pytest.approx(expected, rel=1e-10)
    # the window is centred: mirroring both images mirrors the map, its mean unchanged
    assert ssim(a.flip(-1, -2), b.flip(-1, -2), 255.0) == pytest.approx(expected, rel=1e-10)
    # float32 inputs are scored in float64 as well
    assert ssim(a.float(), b.float(), 255.0) == pytest.approx(
        _reference_ssim(a[0, 0].float().double().numpy(), b[0, 0].float().double().numpy(), 255.0), rel=1e-10
    )


def test_ssim_y_is_ssim_of_bt601_luma_with_peak_255(generator):
    hr = torch.rand(1, 3, 16, 18, generator=generator, dtype=torch.float64)
    sr = (hr + 0.1 * torch.randn(1, 3, 16, 18, generator=generator, dtype=torch.float64)).clamp(0, 1)
    luma = [16 + 65.481 * x[0, 0] + 128.553 * x[0, 1] + 24.966 * x[0, 2] for x in (sr, hr)]
    expected = _reference_ssim(luma[0][2:-2, 2:-2].numpy(), luma[1][2:-2, 2:-2].numpy(), 255.0)
    assert ssim_y(sr, hr, border=2) == pytest.approx(expected, rel=1e-10)


def test_psnr_y_crops_the_border_on_each_side():
    """A gray image changed in its 2-pixel ring only is equal inside it; one pixel changed by 0.1 in every channel
    just inside the ring (Y moves by 21.9 levels) gives ``10 log10(255² · n / 21.9²)`` over the ``n = 8 × 12``
    pixels left."""
    hr = torch.full((1, 3, 12, 16), 0.5, dtype=torch.float64)
    sr = hr.clone()
    sr[..., :2, :] = sr[..., -2:, :] = sr[..., :, :2] = sr[..., :, -2:] = 0.9
    assert psnr_y(sr, hr, border=2) == math.inf
    for i, j in [(2, 2), (9, 13), (2, 13), (9, 2)]:
        inside = hr.clone()
        inside[..., i, j] += 0.1
        assert psnr_y(inside, hr, border=2) == pytest.approx(10 * math.log10(255**2 * 96 / 21.9**2), rel=1e-12)
    assert psnr_from_mse(0.0, 255.0) == math.inf


def test_consistency_psnr_in_the_files_levels():
    lr = torch.tensor([[10.0, 20.0], [30.0, 40.0]])
    assert consistency_psnr(lr, lr, 255) == math.inf
    assert consistency_psnr(lr + 0.5, lr, 255) == pytest.approx(10 * math.log10(255**2 / 0.25), rel=1e-12)
    assert consistency_psnr(lr - 2, lr, 65535) == pytest.approx(10 * math.log10(65535**2 / 4), rel=1e-12)


@pytest.mark.parametrize("transpose", [False, True])
def test_block_border_ratio_on_a_staircase(transpose):
    """Gray columns ``(c + 3 ⌊c/4⌋) / 100`` on 8 × 12 (or the transpose), blocks of 4: each of the 8 rows has 2
    border steps of 4 units and 9 inside steps of 1; the 7 row pairs (one a border) are flat. Ratio
    ``(2·8·4 / (2·8 + 1·12)) / (9·8 / (9·8 + 6·12)) = 32/7``."""
    columns = torch.arange(12, dtype=torch.float64)
    image = ((columns + 3 * (columns // 4)) / 100).expand(1, 3, 8, 12)
    if transpose:
        image = image.transpose(-1, -2)
    assert block_border_ratio(image, 4) == pytest.approx(32 / 7, rel=1e-12)
    nearest = torch.nn.functional.interpolate(image[..., ::4, ::4].contiguous(), scale_factor=4.0, mode="nearest")
    assert block_border_ratio(nearest, 4) == math.inf  # constant blocks: nothing inside them


def test_false_texture_is_in_levels_of_255():
    """Stripes of 0.02 on odd columns of a flat photo are 5.1 levels; every 5-wide window holds 2 or 3 of them:
    ``5.1 · √(⅖ · ⅗)``."""
    hr = torch.full((1, 3, 16, 16), 0.5, dtype=torch.float64)
    stripes = hr + 0.02 * (torch.arange(16) % 2)
    score = false_texture(stripes, hr, border=0)
    assert score.output == pytest.approx(5.1 * math.sqrt(0.24), rel=1e-6)
    assert score.photo == pytest.approx(0.0, abs=1e-6) and score.flat == 1.0


def test_false_texture_scores_a_single_window():
    """7 × 7 less a 1-pixel border is one 5 × 5 window: one pixel 10.2 levels up gives ``10.2 · √24 / 25``."""
    hr = torch.full((1, 3, 7, 7), 0.5, dtype=torch.float64)
    sr = hr.clone()
    sr[..., 3, 3] += 0.04
    score = false_texture(sr, hr, border=1)
    assert score.output == pytest.approx(10.2 * math.sqrt(24) / 25, rel=1e-9) and score.flat == 1.0


def test_false_texture_without_a_flat_pixel_or_a_window_has_no_score(generator):
    busy = torch.rand(1, 3, 24, 24, generator=generator)
    tiny = torch.zeros(1, 3, 6, 6)
    for score in (false_texture(busy, busy, border=0), false_texture(tiny, tiny, border=1)):
        assert math.isnan(score.output) and math.isnan(score.photo) and score.flat == 0.0


def test_colourfulness_by_hand():
    """``σ_rgyb + 0.3 μ_rgyb`` with population deviations: red ``0.3 √(255² + 127.5²)``; blue ``0.3 · 255``;
    a red and a green pixel: rg ±255 (σ 255, mean 0), yb 127.5 twice: ``255 + 0.3 · 127.5``; a red and a blue one:
    rg 255 and 0, yb 127.5 and −255: ``√(127.5² + 191.25²) + 0.3 √(127.5² + 63.75²)``. 8-bit input is the same."""
    red = torch.tensor([[[255.0]], [[0.0]], [[0.0]]])
    blue = torch.tensor([[[0.0]], [[0.0]], [[255.0]]])
    red_green = torch.tensor([[[255.0, 0.0]], [[0.0, 255.0]], [[0.0, 0.0]]])
    assert colourfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5), rel=1e-12)
    assert colourfulness(blue) == pytest.approx(0.3 * 255, rel=1e-12)
    assert colourfulness(red_green) == pytest.approx(255 + 0.3 * 127.5, rel=1e-12)
    assert colourfulness(red_green.to(torch.uint8)) == pytest.approx(255 + 0.3 * 127.5, rel=1e-12)
    red_blue = torch.cat([red, blue], dim=2)
    expected = math.hypot(127.5, 191.25) + 0.3 * math.hypot(127.5, 63.75)
    assert colourfulness(red_blue) == pytest.approx(expected, rel=1e-12)
    assert colourfulness(torch.full((3, 4, 5), 77.0)) == 0.0
    assert colourfulness(torch.rand(1, 4, 5) * 255) == 0.0


def test_has_colour_only_for_three_channels_not_all_equal():
    gray = torch.full((3, 2, 3), 9)
    assert not has_colour(gray) and not has_colour(gray[:1]) and not has_colour(torch.zeros(4, 2, 3))
    for channel in range(3):
        tinted = gray.clone()
        tinted[channel, 1, 2] = 10
        assert has_colour(tinted)


def test_laplacian_energy_by_hand():
    """Checkers of 0 and 1 are Y 16 and 235: the 4-neighbour Laplacian is ±4 · 219 at every pixel; a ramp has none;
    ``c² / 100`` across has ``2 · 219 / 100`` everywhere; pixels in the cropped border count for nothing."""
    rows, cols = torch.arange(9).view(9, 1), torch.arange(12)
    checkers = ((rows + cols) % 2).to(torch.float64).expand(1, 3, 9, 12).clone()
    checkers[..., 0, 5] = checkers[..., 8, 5] = checkers[..., 4, 0] = checkers[..., 4, 11] = 0.5
    assert laplacian_energy(checkers, border=1) == pytest.approx((4 * 219) ** 2, rel=1e-12)
    ramp = (0.05 * rows.double() + 0.02 * cols.double()).expand(1, 3, 9, 12)
    assert laplacian_energy(ramp, border=0) == pytest.approx(0.0, abs=1e-16)
    parabola = (cols.to(torch.float64).square() / 100).expand(1, 3, 9, 12)
    assert laplacian_energy(parabola, border=0) == pytest.approx((2 * 219 / 100) ** 2, rel=1e-9)


def test_detail_is_the_ratio_of_laplacian_energies(generator):
    """Halving the contrast halves the Laplacian: a quarter of the energy."""
    hr = torch.rand(1, 3, 12, 14, generator=generator, dtype=torch.float64)
    assert detail(0.5 * hr + 0.25, hr, border=2) == pytest.approx(0.25, rel=1e-12)
    assert detail(hr, hr, border=2) == 1.0
    assert math.isnan(detail(hr, torch.full_like(hr, 0.3), border=2))
