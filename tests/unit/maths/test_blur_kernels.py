"""The blur kernels against hand-worked values: a Gaussian's axes, widths and turn, a motion segment's run and
direction (issue #36: every ``gaussian_kernel`` mutant survived the degradation tests)."""

from __future__ import annotations

import math

import pytest
import torch

from srcli.maths.blur_kernels import gaussian_kernel, motion_kernel


@pytest.mark.parametrize(("sigma_x", "sigma_y", "theta"), [(1.0, 1.0, 0.0), (2.0, 0.5, 0.0), (0.5, 2.0, 30.0)])
def test_gaussian_is_the_turned_formula_on_a_three_sigma_square(sigma_x, sigma_y, theta):
    kernel = gaussian_kernel(sigma_x, sigma_y, theta)
    radius = math.ceil(3 * max(sigma_x, sigma_y))
    assert kernel.shape == (2 * radius + 1, 2 * radius + 1)
    assert kernel.dtype == torch.float64
    assert float(kernel.sum()) == pytest.approx(1.0, abs=1e-12)
    cos, sin = math.cos(math.radians(theta)), math.sin(math.radians(theta))
    for dr, dc in [(0, 1), (1, 0), (1, 1), (-1, 2), (2, -1), (0, -3)]:
        along, across = dc * cos + dr * sin, -dc * sin + dr * cos
        expected = math.exp(-0.5 * ((along / sigma_x) ** 2 + (across / sigma_y) ** 2))
        ratio = float(kernel[radius + dr, radius + dc] / kernel[radius, radius])
        assert ratio == pytest.approx(expected, rel=1e-12)


def test_gaussian_turned_a_quarter_is_the_transpose():
    assert torch.allclose(gaussian_kernel(2.0, 0.5, 90.0), gaussian_kernel(2.0, 0.5, 0.0).T, atol=1e-15)


def test_motion_kernel_is_a_horizontal_run_at_zero_degrees():
    kernel = motion_kernel(5, 0)
    assert kernel.shape == (9, 9)
    assert kernel.dtype == torch.float64
    assert float(kernel.sum()) == pytest.approx(1.0, abs=1e-12)
    assert float(kernel.sum() - kernel[4].sum()) == 0.0
    expected = [0.0, 0.027848, 0.175949, 0.197468, 0.197468, 0.197468, 0.175949, 0.027848, 0.0]
    assert kernel[4].tolist() == pytest.approx(expected, abs=1e-6)


def test_motion_kernel_turns_anticlockwise_with_rows_going_up():
    assert torch.allclose(motion_kernel(5, 90)[:, 4], motion_kernel(5, 0)[4], atol=1e-12)
    kernel = motion_kernel(3, 45)  # radius 3: up and to the right, down and to the left
    assert float(kernel[2, 4]) > 0.1 and float(kernel[4, 2]) > 0.1
    assert float(kernel[4, 4]) == 0.0 and float(kernel[2, 2]) == 0.0
