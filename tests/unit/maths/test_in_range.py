"""The relaxed projection kept in the file's range: in the box, no less consistent than clipping afterwards where
the estimate saturates, and its conjugate-gradient steps reported as they go."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.maths.blur_kernels import motion_kernel
from srcli.maths.degradations import ReflectBlur, Resize
from srcli.maths.in_range import relaxed_in_range


def _rms(x: torch.Tensor) -> float:
    return float(x.square().mean().sqrt())


def _saturated(seed: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A photo-like image with bright and dark patches at the ends of [0, 255], and an estimate overshooting them."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, 4, 4, generator=generator, dtype=torch.float64) * 500 - 120
    truth = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear").clamp(0, 255)
    estimate = truth + 30 * torch.randn(truth.shape, generator=generator, dtype=torch.float64)
    return truth, estimate


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), sigma=st.sampled_from([0.3, 2.0]))
def test_in_range_projection_is_in_the_box_and_no_less_consistent_than_clipping_after(seed, sigma):
    truth, z = _saturated(seed, 32)
    op = ReflectBlur(motion_kernel(7, 30), 1, 32, 32)
    y = (op.A(truth) + sigma * torch.randn(1, 3, 32, 32, dtype=torch.float64)).round()
    clipped_after = op.relaxed(z, y, sigma).clamp(0, 255)
    in_range = relaxed_in_range(op.relaxer(y, sigma), z, 255)
    assert in_range.min() >= 0 and in_range.max() <= 255
    assert (clipped_after == 0).any() or (clipped_after == 255).any()  # the case saturates
    assert _rms(op.A(in_range) - y) <= _rms(op.A(clipped_after) - y) + 1e-9


def test_in_range_projection_comes_back_to_the_noise_level_where_clipping_did_not():
    truth, z = _saturated(3, 48)
    op = ReflectBlur(motion_kernel(9, 0), 1, 48, 48)
    y = op.A(truth)
    sigma = 0.3
    clipped_after = _rms(op.A(op.relaxed(z, y, sigma).clamp(0, 255)) - y)
    in_range = _rms(op.A(relaxed_in_range(op.relaxer(y, sigma), z, 255, rounds=40)) - y)
    assert clipped_after > 1.5 * sigma and in_range < 1.2 * sigma


def test_separable_in_range_projection_is_in_the_box_and_no_less_consistent():
    truth, z = _saturated(5, 32)
    op = Resize.of("gaussian", 2, 32, 32, sigma=1.0)
    y = op.A(truth)
    clipped_after = op.relaxed(z, y, 1.0).clamp(0, 255)
    in_range = relaxed_in_range(op.relaxer(y, 1.0), z, 255)
    assert in_range.min() >= 0 and in_range.max() <= 255
    assert _rms(op.A(in_range) - y) <= _rms(op.A(clipped_after) - y)


def test_the_projection_reports_its_steps_as_they_go():
    truth, z = _saturated(7, 32)
    op = ReflectBlur(motion_kernel(7, 30), 1, 32, 32)
    calls: list[tuple[int, int]] = []
    relaxed_in_range(op.relaxer(op.A(truth), 0.3, lambda done, planned: calls.append((done, planned))), z, 255)
    done = [call[0] for call in calls]
    assert len(calls) > 10 and done == list(range(1, len(calls) + 1))  # one call a step, counting up
    assert all(planned > steps for steps, planned in calls)  # a plan always ahead of the steps done


def test_the_rounds_stop_once_the_consistent_iterate_is_within_half_a_level_of_the_box():
    """The docstring's pair (mean 200, range 255): the overshoot halves each round, 45 → 0.35 at the eighth."""
    y = torch.tensor([300.0, 100.0], dtype=torch.float64)
    calls = []

    def mean(v: torch.Tensor) -> torch.Tensor:
        calls.append(v)
        return v + (y.mean() - v.mean())

    out = relaxed_in_range(mean, y, 255)
    assert len(calls) == 8
    assert out.tolist() == [255.0, 200 - 45 / 2**7 - 55]
