"""NIQE: its fits recover known parameters, its half scale is bicubic, and with the shipped pristine model
a clean photo scores better than the same photo blurred or noisy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from srcli.checkpoints.pristine import load_pristine, save_pristine, shipped_path, shipped_pristine
from srcli.errors import ModelError
from srcli.io.images import pil_to_tensor
from srcli.maths.niqe import PATCH, aggd_fit, fit_pristine, halve, image_features, luma, niqe

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def ggd_samples(alpha: float, beta: float, count: int, generator: torch.Generator) -> torch.Tensor:
    """Samples of ``p(x) ∝ exp(−(|x|/β)^α)``: ``|x| = β G^(1/α)`` with ``G ~ Gamma(1/α)``, random sign."""
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=generator)))
    size = beta * torch.distributions.Gamma(1 / alpha, 1.0).sample((count,)).double() ** (1 / alpha)
    sign = torch.where(torch.rand(count, generator=generator) < 0.5, -1.0, 1.0).double()
    return sign * size


@pytest.mark.parametrize("alpha", [0.6, 1.0, 2.0, 4.0])
def test_a_symmetric_ggd_is_recovered_as_the_coefficients_are_fitted(alpha, generator):
    """The coefficients' feature: the asymmetric fit of a symmetric GGD, its two scales averaged."""
    fitted_alpha, _, left, right = aggd_fit(ggd_samples(alpha, 0.7, 100_000, generator)[None])
    assert abs(fitted_alpha.item() - alpha) < 0.05 * alpha
    assert abs((left + right).item() / 2 - 0.7) < 0.05 * 0.7


@pytest.mark.parametrize("alpha", [0.8, 2.0])
def test_aggd_fit_recovers_both_sides(alpha, generator):
    """An AGGD puts mass β_l : β_r on its two sides; the fit gets shape, both scales and the mean's sign."""
    left, right, count = 0.5, 1.5, 100_000
    size = ggd_samples(alpha, 1.0, count, generator).abs()
    on_left = torch.rand(count, generator=generator).double() < left / (left + right)
    x = torch.where(on_left, -left * size, right * size)
    nu, eta, beta_left, beta_right = aggd_fit(x[None])
    assert abs(nu.item() - alpha) < 0.05 * alpha
    assert abs(beta_left.item() - left) < 0.02 and abs(beta_right.item() - right) < 0.03
    expected_mean = (right - left) * math.gamma(2 / alpha) / math.gamma(1 / alpha)
    assert abs(eta.item() - expected_mean) < 0.03 and abs(x.mean().item() - expected_mean) < 0.03


def test_aggd_fit_of_a_one_sided_row_is_nan():
    assert aggd_fit(torch.rand(1, 100, dtype=torch.float64))[2].isnan().all()


def test_halve_is_antialiased_bicubic_inside(generator):
    """MATLAB's ``imresize(·, 0.5)`` kernel is Pillow's bicubic (a = −0.5) too; they differ only at borders."""
    gray = torch.rand(40, 48, generator=generator, dtype=torch.float64) * 255
    pillow = Image.fromarray(gray.numpy().astype(np.float32), mode="F").resize((24, 20), Image.Resampling.BICUBIC)
    inside = (slice(3, -3), slice(3, -3))
    assert np.abs(halve(gray).numpy()[inside] - np.asarray(pillow)[inside]).max() < 1e-3


def test_features_cover_every_full_patch(generator):
    gray = torch.rand(2 * PATCH + 5, 3 * PATCH + 7, generator=generator, dtype=torch.float64) * 255
    features, sharpness = image_features(gray)
    assert features.shape == (6, 36) and sharpness.shape == (6,) and torch.isfinite(features).all()


def test_niqe_is_undefined_below_two_patches(generator):
    assert math.isnan(niqe(torch.rand(1, 3, PATCH, PATCH + 10, generator=generator), shipped_pristine()))


def photo(path: Path) -> torch.Tensor:
    with Image.open(path) as image:
        return pil_to_tensor(image.convert("RGB")).unsqueeze(0).double() / 255


def blurred(rgb: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = math.ceil(3 * sigma)
    taps = torch.exp(-(torch.arange(-radius, radius + 1, dtype=torch.float64) ** 2) / (2 * sigma**2))
    taps = (taps / taps.sum()).expand(3, 1, 1, -1)
    x = F.pad(rgb, (radius, radius, radius, radius), mode="replicate")
    return F.conv2d(F.conv2d(x, taps, groups=3), taps.transpose(-1, -2), groups=3)


def test_a_clean_photo_scores_better_than_it_blurred_or_noisy(shared_data, generator):
    """The property NIQE is for, with the shipped pristine model, on a test photo it was not fitted on."""
    clean = photo(shared_data / "bench" / "Set14" / "coastguard.png")
    noisy = (clean + 0.05 * torch.randn(clean.shape, generator=generator, dtype=torch.float64)).clamp(0, 1)
    model = shipped_pristine()
    score = niqe(clean, model)
    assert score < niqe(blurred(clean, 1.5), model)
    assert score < niqe(noisy, model)


def test_niqe_prefers_the_example_photo_to_it_blurred():
    """Without shared data: the example photo (×4 by Lanczos, to have patches) against it blurred."""
    with Image.open(EXAMPLES / "starfish.png") as image:
        large = image.convert("RGB").resize((image.width * 4, image.height * 4), Image.Resampling.LANCZOS)
    sharp = pil_to_tensor(large).unsqueeze(0).double() / 255
    model = shipped_pristine()
    assert niqe(sharp, model) < niqe(blurred(sharp, 3.0), model)


def test_pristine_model_round_trips_and_a_foreign_file_is_refused(tmp_path, generator):
    model = fit_pristine([torch.rand(1, 3, 192, 192, generator=generator) for _ in range(3)], threshold=0)
    path = tmp_path / "p.safetensors"
    save_pristine(path, model, {"data": "random"})
    again = load_pristine(path)
    assert torch.equal(again.mean, model.mean) and torch.equal(again.cov, model.cov) and again.patches == 12
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot read"):
        load_pristine(tmp_path / "bad.safetensors")


def test_the_shipped_pristine_model_is_a_proper_gaussian():
    model = shipped_pristine()
    assert shipped_path().is_file() and model.patches > 1000
    assert torch.allclose(model.cov, model.cov.T) and torch.linalg.eigvalsh(model.cov).min() > 0


def test_luma_of_gray_is_luma_of_the_same_gray_as_rgb(generator):
    gray = torch.rand(1, 1, 4, 4, generator=generator)
    assert torch.equal(luma(gray), luma(gray.expand(-1, 3, -1, -1)))


def test_the_shipped_pristine_model_matches_its_provenance():
    import json

    from srcli.checkpoints.hub import sha256_of

    provenance = json.loads(shipped_path().with_suffix(".json").read_text())
    assert provenance["sha256"] == sha256_of(shipped_path()) and provenance["data"] == "CBSD432"
    assert provenance["patches_selected"] == shipped_pristine().patches
