"""The DCT-Wiener denoiser: sizes kept, constants and σ = 0 fixed, the noise of a photo-like image reduced."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.maths.denoise import OPPONENT, dct_matrix, denoise

sizes = st.tuples(st.sampled_from([1, 3]), st.integers(1, 21), st.integers(1, 21))


def test_the_transforms_are_orthonormal():
    for matrix in (dct_matrix(8), OPPONENT):
        assert torch.allclose(matrix @ matrix.T, torch.eye(matrix.shape[0], dtype=torch.float64), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(sizes, st.floats(0.5, 40), st.integers(1, 3), st.integers(0, 2**16))
def test_any_size_keeps_its_shape_and_a_constant_image_is_fixed(size, sigma, stride, seed):
    image = torch.rand(size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 255
    assert denoise(image, sigma, stride).shape == size
    constant = torch.full(size, float(seed % 256), dtype=torch.float64)
    assert torch.allclose(denoise(constant, sigma, stride), constant, atol=1e-9)


@settings(max_examples=10, deadline=None)
@given(sizes, st.integers(0, 2**16))
def test_no_noise_level_is_the_identity(size, seed):
    image = torch.rand(size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    assert torch.equal(denoise(image, 0.0), image)


def test_the_noise_of_a_photo_like_image_falls_below_half_its_level(generator):
    coarse = 30 + torch.rand(1, 3, 6, 6, generator=generator, dtype=torch.float64) * 190
    clean = F.interpolate(coarse, size=(48, 48), mode="bicubic", align_corners=False)[0]
    noisy = clean + 10 * torch.randn(clean.shape, generator=generator, dtype=torch.float64)
    error = (denoise(noisy, 10.0) - clean).square().mean().sqrt()
    assert error < 0.5 * (noisy - clean).square().mean().sqrt()


def test_colour_is_denoised_in_the_opponent_space_and_any_positive_level_acts(generator):
    """Three channels go through :data:`OPPONENT` (thresholding does not commute with it): not channel by channel;
    a level under 1 still denoises."""
    noisy = 100 + 10 * torch.randn(3, 16, 20, generator=generator, dtype=torch.float64)
    per_channel = torch.cat([denoise(channel[None], 10.0) for channel in noisy])
    opponent = torch.einsum("ij,jhw->ihw", OPPONENT, noisy)
    by_hand = torch.einsum("ji,jhw->ihw", OPPONENT, torch.cat([denoise(c[None], 10.0) for c in opponent]))
    assert torch.allclose(denoise(noisy, 10.0), by_hand, atol=1e-9)
    assert not torch.allclose(denoise(noisy, 10.0), per_channel, atol=1e-3)
    assert not torch.equal(denoise(noisy, 0.5), noisy)
