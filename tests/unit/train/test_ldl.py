"""LDL's artefact map: zero where the weight average is further from the photo, positive on an erratic residual
where it is closer, blind to a uniform error, and the loss it weights."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.train.ldl import artefact_map, ldl_loss

shapes = st.tuples(st.integers(1, 3), st.integers(8, 24), st.integers(8, 24))


def _photo(seed: int, batch: int, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    hr = torch.rand(batch, 3, height, width, generator=generator, dtype=torch.float64)
    noise = 0.1 * torch.randn(batch, 3, height, width, generator=generator, dtype=torch.float64)
    return hr, noise


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31))
def test_the_map_is_zero_where_the_average_is_worse_and_positive_on_noise_where_it_is_better(shape, seed):
    hr, noise = _photo(seed, *shape)
    sr = hr + noise
    worse = hr + 2 * noise  # the average further from the photo at every pixel (where the noise is not 0)
    left = torch.zeros_like(hr, dtype=torch.bool)
    left[..., : shape[2] // 2] = True
    ema = torch.where(left, worse, hr)  # worse on the left half, on the photo on the right
    weights = artefact_map(hr, sr, ema)
    assert weights.shape == (shape[0], 1, shape[1], shape[2])
    assert bool((weights[..., : shape[2] // 2] == 0).all())
    assert bool((weights[..., shape[2] // 2 :] > 0).all())


@settings(max_examples=20, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31), offset=st.floats(0.01, 0.3))
def test_a_uniform_error_is_not_an_artefact(shape, seed, offset):
    hr, _ = _photo(seed, *shape)
    weights = artefact_map(hr, hr + offset, hr)  # the same residual everywhere: no local or patch variance
    assert float(weights.abs().max()) < 1e-6


def test_the_loss_is_the_weighted_l1_and_its_gradient_flows_through_the_map_too(generator):
    hr = torch.rand(2, 3, 12, 12, generator=generator, dtype=torch.float64)
    sr = (hr + 0.1 * torch.randn(2, 3, 12, 12, generator=generator, dtype=torch.float64)).requires_grad_()
    loss = ldl_loss(hr, sr, hr)
    weights = artefact_map(hr, sr, hr)
    assert torch.allclose(loss, (weights * (sr - hr)).abs().mean())
    loss.backward()
    detached = (artefact_map(hr, sr, hr).detach() * (sr - hr)).abs().mean()
    (plain,) = torch.autograd.grad(detached, sr)
    assert sr.grad is not None and not torch.allclose(sr.grad, plain)  # as LDL's code: M is not detached
    assert float(ldl_loss(hr, sr.detach(), sr.detach() + 1)) == 0.0  # the average worse everywhere: no loss
