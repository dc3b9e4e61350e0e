"""Known degradations: the operators' algebra (property tests), Pillow's own 8-bit resize bit for bit,
the relaxed projection's noise level, and the integer round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from srcli.maths.blur_kernels import gaussian_kernel, motion_kernel
from srcli.maths.degradations import BlurDecimate, ReflectBlur, Resize, covered_border, interior_kernel, resize_matrix
from srcli.maths.round_trip import RoundedLinear, RoundedResize, round_trip

KINDS = ["box", "bicubic", "bicubic-matlab", "gaussian"]


def _operator(kind: str, scale: int, height: int, width: int) -> Resize:
    return Resize.of(kind, scale, height, width, sigma=0.5 * scale if kind == "gaussian" else None)


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    scale=st.integers(2, 4),
    blocks=st.tuples(st.integers(2, 9), st.integers(2, 9)),
    seed=st.integers(0, 2**31 - 1),
)
def test_separable_operators_project_onto_the_consistent_set(kind, scale, blocks, seed):
    generator = torch.Generator().manual_seed(seed)
    height, width = blocks[0] * scale, blocks[1] * scale
    op = _operator(kind, scale, height, width)
    x = torch.rand(1, 2, height, width, generator=generator, dtype=torch.float64)
    y = torch.rand(1, 2, blocks[0], blocks[1], generator=generator, dtype=torch.float64)
    assert torch.allclose(op.A(op.A_pinv(y)), y, atol=1e-9)
    projected = op.project(x, y)
    assert torch.allclose(op.A(projected), y, atol=1e-9)
    assert torch.allclose(op.project(projected, y), projected, atol=1e-9)  # idempotent
    # orthogonal: the change is in the row space of A, so it is orthogonal to the null space
    assert torch.allclose(op.project(x, op.A(x)), x, atol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_resize_rows_are_weights_that_sum_to_one(kind):
    matrix = resize_matrix(kind, 24, 3, sigma=1.5 if kind == "gaussian" else None)
    assert matrix.shape == (8, 24) and torch.allclose(matrix.sum(1), torch.ones(8, dtype=torch.float64))


def test_box_resize_is_todays_average_pooling():
    x = torch.rand(1, 3, 8, 12, dtype=torch.float64)
    assert torch.allclose(Resize.of("box", 4, 8, 12).A(x), torch.nn.functional.avg_pool2d(x, 4))


@settings(max_examples=15, deadline=None)
@given(scale=st.integers(2, 4), size=st.integers(3, 10), seed=st.integers(0, 2**31 - 1))
def test_blur_decimate_projects_onto_the_consistent_set(scale, size, seed):
    generator = torch.Generator().manual_seed(seed)
    kernel = torch.rand(5, 3, generator=generator, dtype=torch.float64) + 0.1  # any positive 2-D kernel
    op = BlurDecimate(kernel, scale, size * scale, size * scale)
    x = torch.rand(1, 1, size * scale, size * scale, generator=generator, dtype=torch.float64)
    y = op.A(torch.rand_like(x))  # an LR this operator can make: its components all lie above the floor
    assert torch.allclose(op.A(op.project(x, y)), y, atol=1e-8)


def test_blur_decimate_is_the_adjoint_pair():
    op = BlurDecimate(torch.rand(3, 3, dtype=torch.float64), 2, 8, 8)
    x, y = torch.rand(1, 1, 8, 8, dtype=torch.float64), torch.rand(1, 1, 4, 4, dtype=torch.float64)
    assert torch.allclose((op.A(x) * y).sum(), (x * op.At(y)).sum())


def test_bad_kernels_are_refused():
    with pytest.raises(ValueError, match="positive sum"):
        BlurDecimate(-torch.ones(3, 3), 2, 8, 8)
    with pytest.raises(ValueError, match="2-D"):
        BlurDecimate(torch.ones(3), 2, 8, 8)
    with pytest.raises(ValueError, match="larger than the image"):
        BlurDecimate(torch.ones(9, 9), 2, 8, 8)
    assert covered_border(15, 4) == 3 and covered_border(1, 2) == 1


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("shape", [(48, 36, 3), (60, 24, 1), (48, 24, 3), (72, 24, 3), (24, 96, 1)])
def test_rounded_bicubic_is_pillows_own_resize_bit_for_bit(scale, shape):
    pixels = np.random.default_rng(scale).integers(0, 256, shape, dtype=np.uint8)
    image = Image.fromarray(pixels[..., 0] if shape[2] == 1 else pixels)
    expected = np.asarray(image.resize((shape[1] // scale, shape[0] // scale), Image.Resampling.BICUBIC))
    channels = torch.from_numpy(pixels.copy()).permute(2, 0, 1)
    reference = RoundedResize(Resize.of("bicubic", scale, shape[0], shape[1]), 255, pillow=True)
    assert np.array_equal(reference(channels).permute(1, 2, 0).numpy().squeeze(-1) if shape[2] == 1
                          else reference(channels).permute(1, 2, 0).numpy(), expected)  # fmt: skip
    # and the local evaluation the repair uses agrees with the whole-image one
    assert torch.equal(reference.at(channels, 0, slice(1, 3), slice(0, 2)), reference(channels)[0, 1:3, 0:2])


def test_relaxed_projection_leaves_the_noise_level():
    generator = torch.Generator().manual_seed(3)
    op = Resize.of("gaussian", 2, 32, 32, sigma=1.2)
    truth = torch.rand(1, 3, 32, 32, generator=generator, dtype=torch.float64) * 255
    y = op.A(truth) + 5 * torch.randn(1, 3, 16, 16, generator=generator, dtype=torch.float64)
    start = torch.full_like(truth, 128.0)  # far from y: the relaxation has room to stop at the noise
    residual = y - op.A(op.relaxed(start, y, 5.0))
    assert residual.square().mean().sqrt().item() == pytest.approx(5.0, rel=1e-6)
    assert torch.equal(op.relaxed(start, y, 0.0), op.project(start, y))


def _smooth_photo(generator: torch.Generator, height: int, width: int) -> torch.Tensor:
    coarse = torch.rand(1, 3, height // 8, width // 8, generator=generator) * 255
    return torch.nn.functional.interpolate(coarse, size=(height, width), mode="bicubic").clamp(0, 255)[0]


@pytest.mark.parametrize("kind", ["bicubic", "bicubic-matlab", "gaussian"])
def test_round_trip_makes_the_stored_degradation_the_input(kind, generator):
    hr = _smooth_photo(generator, 64, 48).round()
    op = _operator(kind, 4, 64, 48)
    reference = RoundedResize(op, 255, pillow=kind == "bicubic")
    y = reference(hr.to(torch.int64))
    guess = hr.unsqueeze(0).to(torch.float64) + 6 * torch.randn(1, 3, 64, 48, generator=generator, dtype=torch.float64)
    image, missed = round_trip(op.project(guess, y.double().unsqueeze(0))[0], y, reference)
    assert missed == int((reference(image) != y).sum())
    assert missed <= y.numel() // 1000  # the 99.9 % bar; photos here come out exact
    assert image.min() >= 0 and image.max() <= 255


def test_an_lr_the_degradation_cannot_make_is_reported_without_the_slow_repair(monkeypatch):
    op = _operator("gaussian", 2, 64, 64)
    reference = RoundedResize(op, 255, pillow=False)
    checkers = ((torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2 * 255).expand(3, 32, 32)
    monkeypatch.setattr("srcli.maths.round_trip._repair", lambda *args: pytest.fail("repaired value by value"))
    image, missed = round_trip(op.project(torch.zeros(1, 3, 64, 64, dtype=torch.float64),
                                          checkers.double().unsqueeze(0))[0], checkers, reference)  # fmt: skip
    assert missed == int((reference(image) != checkers).sum()) > checkers.numel() // 10


@settings(max_examples=20, deadline=None)
@given(kind=st.sampled_from(KINDS), scale=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_interior_kernel_is_the_separable_degradation_away_from_the_border(kind, scale, seed):
    sigma = 0.4 + 0.5 * scale if kind == "gaussian" else None
    kernel = interior_kernel(kind, scale, sigma)
    size = scale * (kernel.shape[0] // scale + 8)
    x = torch.rand(1, 2, size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    circular = BlurDecimate(kernel, scale, size, size).A(x)
    separable = Resize.of(kind, scale, size, size, sigma).A(x)
    inside = kernel.shape[0] // (2 * scale) + 2  # LR pixels whose footprint lies inside the image
    assert kernel.shape[0] % 2 == 1 and float(kernel.sum()) == pytest.approx(1.0)
    assert torch.allclose(circular[..., inside:-inside, inside:-inside], separable[..., inside:-inside, inside:-inside])


@pytest.mark.parametrize(("kernel", "scale"), [(motion_kernel(9, 30), 1), (gaussian_kernel(1.6, 1.6, 0), 1),
                                               (gaussian_kernel(2.0, 0.8, 45), 2)])  # fmt: skip
def test_mirrored_blur_relaxes_to_the_noise_level_and_denoises(kernel, scale, generator):
    truth = _smooth_photo(generator, 48, 48).unsqueeze(0).to(torch.float64)
    op = ReflectBlur(kernel, scale, 48, 48)
    y = op.A(truth) + 2.55 * torch.randn(op.A(truth).shape, generator=generator, dtype=torch.float64)
    guess = truth + 4 * torch.randn(truth.shape, generator=generator, dtype=torch.float64)
    relaxed = op.relaxed(guess, y, 2.55)
    residual = (y - op.A(relaxed)).square().mean().sqrt().item()
    assert residual == pytest.approx(2.55, rel=0.03)
    assert (relaxed - truth).square().mean() < (guess - truth).square().mean()  # it moves towards the data


@settings(max_examples=10, deadline=None)
@given(height=st.integers(17, 41), width=st.integers(17, 41), scale=st.sampled_from([1, 2, 3]))
def test_mirrored_blur_on_any_size_is_its_adjoints_adjoint_and_projects_exactly(height, width, scale):
    """Any size, prime ones included (the circular grid is padded to one the FFT is fast at, beyond the kernel's
    reach): ``⟨Ax, y⟩ = ⟨x, Aᵀy⟩`` and ``A(project(x, y)) = y``."""
    height, width = height - height % scale, width - width % scale
    op = ReflectBlur(motion_kernel(7, 30), scale, height, width)
    generator = torch.Generator().manual_seed(height * 100 + width)
    x = torch.rand(1, 2, height, width, generator=generator, dtype=torch.float64)
    y = torch.rand(1, 2, height // scale, width // scale, generator=generator, dtype=torch.float64)
    assert float((op.A(x) * y).sum()) == pytest.approx(float((x * op.At(y)).sum()), rel=1e-10)
    if scale > 1:  # at scale 1 a motion kernel's spectrum has zeros: only a relaxed projection is asked of it
        target = op.A(torch.rand(x.shape, generator=generator, dtype=torch.float64))
        assert (op.A(op.project(x, target)) - target).abs().max() < 1e-6


def test_rounded_linear_rounds_half_up_and_clips():
    """2×2 box means 1.75, 1.25, 0.5 (half up: 1), 254.75 and 0 by hand, channel by channel; gains of 2 and −1 clip
    at 255 and 0."""
    hr = torch.tensor([[[1, 2, 1, 1, 0, 0, 254, 255, 0, 0], [2, 2, 1, 2, 0, 2, 255, 255, 0, 0]]])
    hr = torch.cat([hr, 255 - hr])  # two channels: the second one's means are 255 minus the first's
    expected = [[[2, 1, 1, 255, 0]], [[253, 254, 255, 0, 255]]]  # 253.25, 253.75, 254.5 half up, 0.25, 255
    rounded = RoundedLinear(Resize.of("box", 2, 2, 10), 255)(hr)
    assert rounded.dtype == torch.int64 and rounded.tolist() == expected
    assert RoundedResize(Resize.of("box", 2, 2, 10), 255, pillow=False)(hr).tolist() == expected

    class Gain:
        def __init__(self, gain: float) -> None:
            self.gain = gain

        def A(self, x: torch.Tensor) -> torch.Tensor:
            return self.gain * x

    assert RoundedLinear(Gain(2), 255)(torch.tensor([[[100, 128]]])).tolist() == [[[200, 255]]]  # type: ignore[arg-type]
    assert RoundedLinear(Gain(-1), 255)(torch.tensor([[[0, 3]]])).tolist() == [[[0, 0]]]  # type: ignore[arg-type]


def test_round_trip_of_a_consistent_integer_estimate_is_itself():
    """An integer image whose stored degradation is y comes back unchanged, int64, with nothing missed."""
    op = Resize.of("box", 2, 4, 4)
    reference = RoundedResize(op, 255, pillow=False)
    image = torch.tensor([[[0, 1, 2, 3], [4, 5, 6, 7], [250, 251, 252, 253], [254, 255, 255, 255]]])
    y = reference(image)
    result, missed = round_trip(image.double(), y, reference)
    assert missed == 0 and result.dtype == torch.int64 and torch.equal(result, image)
    linear, missed = round_trip(image.double(), y, RoundedLinear(op, 255))
    assert missed == 0 and linear.dtype == torch.int64 and torch.equal(linear, image)
