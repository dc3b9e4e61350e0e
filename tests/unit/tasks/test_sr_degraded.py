"""The noisy target of a projection: its residual has the noise level over the colour, alpha kept."""

from __future__ import annotations

import pytest
import torch

from srcli.tasks.sr_degraded import MAX_RESIDUAL_SCALE, noisy_target


def _rms(values: torch.Tensor) -> float:
    return float(values.square().mean().sqrt())


@pytest.mark.parametrize("kept", [0.6, 1.0, 1.7])
def test_the_residual_is_stretched_to_the_noise_level_over_the_colour(generator, kept):
    y = torch.rand(4, 9, 11, generator=generator, dtype=torch.float64) * 255
    residual = torch.randn(4, 9, 11, generator=generator, dtype=torch.float64)
    residual *= 5.0 * kept / _rms(residual[:3])
    residual[3] = 0  # alpha: clean
    target = noisy_target(y, y - residual, 5.0, 3)
    assert _rms(y[:3] - target[:3]) == pytest.approx(5.0, rel=1e-9)
    assert torch.equal(target[3], y[3])


def test_a_denoiser_that_removes_little_is_stretched_at_most_so_far(generator):
    y = torch.rand(3, 8, 8, generator=generator, dtype=torch.float64) * 255
    residual = torch.randn(3, 8, 8, generator=generator, dtype=torch.float64)
    residual *= 1.0 / _rms(residual)
    target = noisy_target(y, y - residual, 5.0, 3)
    assert _rms(y - target) == pytest.approx(MAX_RESIDUAL_SCALE, rel=1e-9)
    assert torch.equal(noisy_target(y, y, 5.0, 3), y)  # nothing removed: the input itself
