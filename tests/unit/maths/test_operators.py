"""Property tests of the degradation operators and PD (DESIGN section 1)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.maths import exact
from srcli.maths.metrics import block_border_ratio, psnr
from srcli.maths.operators import (
    AvgPool,
    BlockCS,
    Gray,
    PDWrapper,
    _box_upsample_taps,
    _lr_box_upsample,
    pad_to_multiple,
    smooth_radius,
    smooth_right_inverse,
    smooth_upsample,
    upsampled_phases,
)

FLOAT64_PSNR_DB = 200.0


def random_tensor(seed: int, shape: tuple[int, ...], dtype=torch.float64, scale: float = 1.0) -> torch.Tensor:
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 3 - 1) * scale


operator_cases = st.one_of(
    st.builds(
        lambda s, h, w: (AvgPool(s), (2, 3, s * h, s * w)), st.integers(2, 16), st.integers(1, 4), st.integers(1, 4)
    ),
    st.builds(
        lambda s, h, w: (AvgPool(s, "smooth"), (2, 3, s * h, s * w)),
        st.integers(2, 8),
        st.integers(1, 6),
        st.integers(1, 6),
    ),
    st.builds(
        lambda m, h, w: (Gray(m), (2, 3, h, w)),
        st.sampled_from(["mean", "bt601"]),
        st.integers(1, 9),
        st.integers(1, 9),
    ),
    st.builds(
        lambda r, seed, h, w: (BlockCS(r, 8, seed), (1, 3, 8 * h, 8 * w)),
        st.sampled_from([0.1, 0.25, 0.5, 1.0]),
        st.integers(0, 3),
        st.integers(1, 3),
        st.integers(1, 3),
    ),
)


@settings(max_examples=60, deadline=None)
@given(case=operator_cases, seed=st.integers(0, 2**31))
def test_pinv_is_right_inverse(case, seed):
    op, shape = case
    y = op.A(random_tensor(seed, shape))
    assert psnr(op.A(op.A_pinv(y)), y, 1.0) >= FLOAT64_PSNR_DB


@settings(max_examples=60, deadline=None)
@given(case=operator_cases, seed=st.integers(0, 2**31))
def test_projection_is_consistent_and_idempotent(case, seed):
    op, shape = case
    x = random_tensor(seed, shape, scale=50)
    y = op.A(random_tensor(seed + 1, shape))
    projected = op.project(x, y)
    assert psnr(op.A(projected), y, 1.0) >= FLOAT64_PSNR_DB
    assert torch.allclose(op.project(projected, y), projected, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(case=operator_cases, seed=st.integers(0, 2**31))
def test_projection_keeps_the_null_space_part(case, seed):
    op, shape = case
    if getattr(op, "correction", "nearest") != "nearest":
        return  # the smooth right inverse is oblique: it moves the null-space part too (by design)
    x = random_tensor(seed, shape)
    y = op.A(random_tensor(seed + 1, shape))
    null_part = x - op.A_pinv(op.A(x))
    projected = op.project(x, y)
    assert torch.allclose(projected - op.A_pinv(op.A(projected)), null_part, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(scale=st.integers(2, 8), h=st.integers(1, 9), w=st.integers(1, 9), seed=st.integers(0, 2**31))
def test_smooth_right_inverse_is_a_right_inverse(scale, h, w, seed):
    r = random_tensor(seed, (2, 3, h, w), scale=100)
    assert psnr(AvgPool(scale).A(smooth_right_inverse(r, scale)), r, 1.0) >= FLOAT64_PSNR_DB


@settings(max_examples=30, deadline=None)
@given(scale=st.sampled_from([2, 4]), h=st.integers(3, 12), w=st.integers(3, 12), seed=st.integers(0, 2**31))
def test_smooth_correction_of_a_residual_in_the_range_of_U_is_U(scale, h, w, seed):
    """The LR-grid iteration is A·U itself: a residual that U then A maps back to itself is spread by U."""
    z = random_tensor(seed, (1, 1, h, w))
    r = AvgPool(scale).A(smooth_upsample(z, scale))
    spread = smooth_right_inverse(r, scale, steps=60)
    assert torch.allclose(spread, smooth_upsample(z, scale), atol=1e-6)


def test_smooth_correction_has_no_block_grid_and_stays_local():
    """A one-pixel residual spreads over neighbouring blocks (nearest keeps it in one block) and
    reaches no further than smooth_radius LR pixels."""
    r = torch.zeros(1, 1, 41, 41, dtype=torch.float64)
    r[..., 20, 20] = 1.0
    spread = smooth_right_inverse(r, 4)
    assert spread[..., 76:80, 80:84].abs().max() > 1e-3  # the block left of the centre one moves
    reach = smooth_radius()
    outside = spread.clone()
    outside[..., 4 * (20 - reach) : 4 * (21 + reach), 4 * (20 - reach) : 4 * (21 + reach)] = 0
    assert outside.abs().max() == 0


@settings(max_examples=30, deadline=None)
@given(
    scale=st.sampled_from([2, 3, 4]),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    max_value=st.sampled_from([255, 65535]),
    seed=st.integers(0, 2**31),
)
def test_smooth_quantize_is_exact(scale, h, w, max_value, seed):
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, max_value + 1, (1, 2, h, w), generator=generator)
    estimate = torch.rand(1, 2, h * scale, w * scale, generator=generator) * 1.4 - 0.2  # clips too
    result = AvgPool(scale, "smooth").quantize(estimate, y, max_value, unit=max_value)
    assert result.min() >= 0 and result.max() <= max_value
    assert torch.equal(result.view(1, 2, h, scale, w, scale).sum((3, 5)), y * scale * scale)


def test_smooth_quantize_draws_no_block_grid():
    """An estimate off by a smooth field: nearest PD puts the field back as constant 4×4 blocks, the
    smooth correction as a smooth one; the block-border gradient ratio tells them apart."""
    rows, cols = torch.meshgrid(torch.linspace(0, 3, 128), torch.linspace(0, 3, 128), indexing="ij")
    hr = (0.5 + 0.3 * torch.sin(rows) * torch.cos(cols)).expand(1, 3, 128, 128)
    y = (AvgPool(4).A(hr) * 255).round()
    estimate = smooth_upsample(y / 255, 4) + 0.05 * torch.cos(2 * rows + cols)
    ratios = {
        correction: block_border_ratio(AvgPool(4, correction).quantize(estimate, y, 255, unit=255) / 255, 4)
        for correction in ("nearest", "smooth")
    }
    assert ratios["nearest"] > 1.5 and ratios["smooth"] < 1.1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_avgpool_matches_box_mean(dtype):
    x = torch.arange(16, dtype=dtype).view(1, 1, 4, 4)
    assert AvgPool(2).A(x).flatten().tolist() == [2.5, 4.5, 10.5, 12.5]
    assert AvgPool(2).A_pinv(torch.tensor([[[[1.0]]]], dtype=dtype)).shape == (1, 1, 2, 2)


@pytest.mark.parametrize("ratio", [0.1, 0.25, 0.5])
def test_blockcs_rows_are_orthonormal_and_deterministic(ratio):
    op = BlockCS(ratio, 32, seed=7)
    assert op.m == round(ratio * 1024)
    gram = op.rows @ op.rows.T
    assert torch.allclose(gram, torch.eye(op.m, dtype=torch.float64), atol=1e-12)
    assert torch.equal(BlockCS(ratio, 32, seed=7).rows, op.rows)
    assert not torch.equal(BlockCS(ratio, 32, seed=8).rows, op.rows)


def test_gray_bt601_weights_match_pillow():
    y = Gray("bt601").A(torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64).view(1, 3, 1, 1))
    assert y.item() == pytest.approx(0.299)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: AvgPool(1), "scale"),
        (lambda: AvgPool(17), "scale"),
        (lambda: AvgPool(4, "bicubic"), "correction"),
        (lambda: Gray("luma"), "gray mode"),
        (lambda: BlockCS(0.0), "ratio"),
        (lambda: AvgPool(3).A(torch.zeros(1, 1, 4, 3)), r"image size \(4, 3\) is not a multiple of the scale 3"),
        (lambda: AvgPool(3).A(torch.zeros(1, 1, 3, 4)), r"image size \(3, 4\) is not a multiple"),
        (lambda: BlockCS(0.1, 8).A(torch.zeros(1, 1, 8, 12)), r"image size \(8, 12\) is not a multiple of the block 8"),
        (lambda: BlockCS(1.5), "ratio"),
        (lambda: BlockCS(0.5, block=1), "block must be at least 2, got 1"),
        (lambda: Gray().A(torch.zeros(1, 4, 2, 5)), "needs 3 channels, got 4"),
        (lambda: AvgPool(4, "bicubic"), "correction must be one of nearest, smooth, got 'bicubic'"),
    ],
)
def test_bad_arguments_raise_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_smooth_correction_reaches_exactly_its_radius():
    """The Neumann series has ``steps`` terms of a 3-tap kernel and ``U`` one LR pixel more: a one-pixel residual
    reaches exactly :func:`smooth_radius` LR pixels, not one fewer."""
    r = torch.zeros(1, 1, 41, 41, dtype=torch.float64)
    r[..., 20, 20] = 1.0
    spread = smooth_right_inverse(r, 4)
    reach = smooth_radius()
    assert spread[..., 80:84, 4 * (20 + reach) : 4 * (21 + reach)].abs().max() > 0
    assert spread[..., 4 * (20 - reach) : 4 * (21 - reach), 80:84].abs().max() > 0


def test_defaults_are_the_documented_ones():
    assert torch.equal(BlockCS(0.25).rows, BlockCS(0.25, block=32, seed=0).rows)
    x = random_tensor(3, (1, 3, 2, 2))
    assert torch.equal(Gray().A(x), Gray("mean").A(x))
    assert BlockCS(0.5, block=2).m == 2  # the smallest block
    assert BlockCS(1.0, block=4).m == 16  # ratio 1: as many rows as pixels, allowed
    assert BlockCS(0.01, block=4).m == 1  # round(0.16) = 0 rows: at least one


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_blockcs_keeps_the_input_dtype(dtype):
    op = BlockCS(0.25, block=8)
    x = random_tensor(5, (1, 2, 16, 8), dtype=dtype)
    y = op.A(x)
    assert y.dtype == dtype and op.A_pinv(y).dtype == dtype
    assert torch.allclose(op.A(op.A_pinv(y)).double(), y.double(), atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(
    correction=st.sampled_from(["nearest", "smooth"]),
    scale=st.sampled_from([2, 3, 4]),
    max_value=st.sampled_from([255, 65535]),
    unit=st.sampled_from([None, 255.0]),
    seed=st.integers(0, 2**31),
)
def test_quantize_is_the_projection_rounded(correction, scale, max_value, unit, seed):
    """In range, the exact result is the float projection of ``x_r · unit`` (unit 1 by default) moved by less
    than one level per value; written into ``out`` when given."""
    generator = torch.Generator().manual_seed(seed)
    op = AvgPool(scale, correction)
    y = torch.randint(max_value // 4, 3 * max_value // 4, (1, 2, 4, 3), generator=generator)
    levels = op.A_pinv(y.double()) + torch.randn(1, 2, 4 * scale, 3 * scale, generator=generator, dtype=torch.float64)
    projection = op.project(levels, y.double())
    out = torch.empty(1, 2, 4 * scale, 3 * scale, dtype=torch.int64)
    if unit is None:
        result = op.quantize(levels, y, max_value, out=out)
    else:
        result = op.quantize(levels / unit, y, max_value, unit=unit, out=out)
    assert result is out
    assert ((result.double() - projection).abs() < 1 + 1e-3).all()  # float32 work for 8 bits


def test_scales_two_to_sixteen_are_accepted():
    for scale in (2, 16):
        assert AvgPool(scale).A(torch.ones(1, 1, scale, scale)).shape == (1, 1, 1, 1)


def test_pad_to_multiple_reflects_and_replicates():
    x = torch.arange(6.0).view(1, 1, 2, 3)
    square = torch.zeros(1, 1, 6, 6)
    assert pad_to_multiple(square, 3) is square  # nothing to pad: the input itself
    assert pad_to_multiple(x, 2).tolist() == [[[[0.0, 1.0, 2.0, 1.0], [3.0, 4.0, 5.0, 4.0]]]]  # reflect
    # 2 rows to 4: a pad of 2 is not less than the height, so both sides replicate
    assert pad_to_multiple(x, 4).tolist() == [[[[0, 1, 2, 2], [3, 4, 5, 5], [3, 4, 5, 5], [3, 4, 5, 5]]]]
    tall = torch.arange(10.0).view(1, 1, 5, 2)  # 5×2 to 6×3: pads of 1, less than both sides, reflect
    expected = [[0, 1, 0], [2, 3, 2], [4, 5, 4], [6, 7, 6], [8, 9, 8], [6, 7, 6]]
    assert pad_to_multiple(tall, 3).tolist() == [[expected]]
    column = torch.arange(3.0).view(1, 1, 3, 1)  # a pad of 1 column is not less than the width 1: replicate
    assert pad_to_multiple(column, 2).tolist() == [[[[0, 0], [1, 1], [2, 2], [2, 2]]]]


def test_pd_wrapper_output_is_consistent_and_keeps_the_null_space_part():
    op = AvgPool(2)
    net = torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    pd = PDWrapper(net, op)
    y = random_tensor(11, (1, 3, 4, 5))
    out = pd(y)
    assert pd.net is net and pd.operator is op
    assert torch.allclose(op.A(out), y, atol=1e-12)
    up = net(y)
    assert torch.allclose(out - op.A_pinv(op.A(out)), up - op.A_pinv(op.A(up)), atol=1e-12)


def test_real_valued_operators_refuse_to_quantize():
    with pytest.raises(NotImplementedError, match="BlockCS measures real values: use project"):
        BlockCS(0.5, block=4).quantize(torch.zeros(1, 1, 4, 4), torch.zeros(1, 8, 1, 1), 255)


@settings(max_examples=30, deadline=None)
@given(
    mode=st.sampled_from(["mean", "bt601"]),
    unit=st.sampled_from([1.0, 2.0, 255.0]),
    spread=st.sampled_from([5.0, 60.0]),
    seed=st.integers(0, 2**31),
)
def test_gray_quantize_is_exact_and_near(mode, unit, spread, seed):
    """The channel mean (``mean``) or Pillow's own ``convert("L")`` (``bt601``, from Pillow) equals the gray; in
    range, every channel is within 1.5 levels of the PD estimate ``x + (y − A x)``; ``out`` is written."""
    from srcli.io.images import pil_to_tensor, tensor_to_pil

    generator = torch.Generator().manual_seed(seed)
    gray = torch.randint(30, 226, (2, 1, 3, 4), generator=generator)
    levels = (
        gray.double().expand(2, 3, 3, 4) + torch.randn(2, 3, 3, 4, generator=generator, dtype=torch.float64) * spread
    )
    op = Gray(mode)
    out = torch.empty(2, 3, 3, 4, dtype=torch.int64)
    result = op.quantize(levels / unit, gray, 255, unit=unit, out=out)
    assert result is out
    if mode == "mean":
        assert torch.equal(result.sum(1, keepdim=True), 3 * gray)
    else:
        pillow = torch.stack([pil_to_tensor(tensor_to_pil(image).convert("L")) for image in result])
        assert torch.equal(pillow.long(), gray)
    projection = op.project(levels, gray.double())
    inside = ((projection > 0) & (projection < 255)).all(1, keepdim=True).expand_as(projection)
    assert ((result - projection).abs()[inside] <= 1.5).all()
    plain = op.quantize(levels / unit, gray, 255, unit=unit) if unit != 1.0 else op.quantize(levels, gray, 255)
    assert plain.dtype == torch.int32 and torch.equal(plain.long(), result)


def test_gray_bt601_is_eight_bit_only():
    with pytest.raises(ValueError, match=r"^Gray\('bt601'\) is Pillow's 8-bit convert\('L'\): max_value must be 255$"):
        Gray("bt601").quantize(torch.zeros(1, 3, 1, 1), torch.zeros(1, 1, 1, 1, dtype=torch.int64), 65535)
    sixteen = Gray("mean").quantize(torch.full((1, 3, 1, 1), 40000.0), torch.tensor([[[[40001]]]]), 65535)
    assert sixteen.flatten().tolist() == [40001, 40001, 40001]


@settings(max_examples=40, deadline=None)
@given(
    scale=st.integers(2, 8),
    batch=st.integers(1, 2),
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    seed=st.integers(0, 2**16),
)
def test_the_upsampling_is_torchs_bilinear_with_centres_aligned(scale, batch, height, width, seed):
    z = torch.rand(batch, 3, height, width, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * 255
    bilinear = torch.nn.functional.interpolate(z, scale_factor=scale, mode="bilinear", align_corners=False)
    assert torch.allclose(smooth_upsample(z, scale), bilinear, rtol=0, atol=1e-9)
    # in float32 within a few roundings of the float64 values (torch's own float32 is 100x further at x3, x5, x6, x7)
    assert torch.allclose(smooth_upsample(z.float(), scale).double(), bilinear, rtol=0, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(
    scale=st.integers(2, 5),
    height=st.integers(1, 7),
    width=st.integers(1, 6),
    rows=st.tuples(st.integers(0, 6), st.integers(1, 7)),
    seed=st.integers(0, 2**16),
)
def test_the_upsampled_phases_are_the_upsampling_s_rows_plane_by_plane(scale, height, width, rows, seed):
    """Plane ``[i, j]`` of LR rows ``top:bottom`` holds HR pixels ``(s·r + i, s·c + j)`` of the whole upsampling, bit
    for bit, at the borders (replicated) and inside (from the neighbouring rows)."""
    top, bottom = min(rows[0], height - 1), min(max(rows[0] + 1, rows[1]), height)
    z = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(seed)) * 255
    whole = smooth_upsample(z, scale).view(2, 3, height, scale, width, scale).permute(3, 5, 0, 1, 2, 4)
    assert torch.equal(upsampled_phases(z, scale, top, bottom), whole[..., top:bottom, :])


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_the_smooth_correction_under_autograd_has_the_same_values_and_its_gradient(scale):
    # in place where nothing is recorded, out of place where autograd is: the same numbers either way
    r = torch.randn(1, 2, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(scale))
    tracked = r.clone().requires_grad_()
    assert torch.equal(smooth_right_inverse(tracked, scale).detach(), smooth_right_inverse(r, scale))
    assert torch.equal(smooth_upsample(tracked, scale).detach(), smooth_upsample(r, scale))
    assert torch.autograd.gradcheck(lambda x: smooth_right_inverse(x, scale, steps=4), (tracked,))


@settings(max_examples=40, deadline=None)
@given(
    scale=st.integers(2, 8),
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    seed=st.integers(0, 2**16),
)
def test_the_lr_grid_filter_is_the_box_mean_of_the_bilinear_upsample(scale, height, width, seed):
    """``A(U z)`` as two 3-tap passes on the LR grid equals averaging the bilinear upsample, borders included."""
    z = torch.randn(1, 2, height, width, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    direct = torch.nn.functional.avg_pool2d(smooth_upsample(z, scale), scale)
    assert torch.allclose(_lr_box_upsample(z, scale), direct, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    scale=st.sampled_from([2, 3, 4]),
    h=st.integers(1, 7),
    w=st.integers(1, 5),
    rows=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_smooth_quantize_lands_within_a_level_of_the_smooth_projection(scale, h, w, rows, seed):
    """In range, the exact finish only rounds ``project(x · unit, y)`` (the smooth right inverse's ``U z`` plus the
    nearest rest): within one level of it everywhere, whatever the strips (``rows`` LR rows each) it works in,
    and the same with ``A(x)`` passed in as ``measured``."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(60, 196, (1, 3, h, w), generator=generator)
    estimate = (
        AvgPool(scale).A_pinv(y / 255) + torch.rand(1, 3, h * scale, w * scale, generator=generator) * 0.1
    ).float()
    op = AvgPool(scale, "smooth")
    projected = op.project(estimate.double() * 255, y.double())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exact, "STRIP_ELEMENTS", rows * 3 * w * scale * scale)
        result = op.quantize(estimate, y, 255, unit=255)
        given_measure = op.quantize(estimate, y, 255, unit=255, measured=op.A(estimate))
    assert (result.double() - projected).abs().max() < 1
    assert torch.equal(given_measure, result)


@settings(max_examples=25, deadline=None)
@given(scale=st.sampled_from([2, 3, 4]), h=st.integers(2, 6), w=st.integers(2, 6), seed=st.integers(0, 2**31))
def test_smooth_part_leaves_the_projection_a_constant_per_block(scale, h, w, seed):
    """``smooth_part`` is the smooth projection less a constant in every s×s block (the nearest rest), so the exact
    nearest step after it lands where it lands after the whole projection."""
    generator = torch.Generator().manual_seed(seed)
    op = AvgPool(scale, "smooth")
    x = torch.rand(1, 2, h * scale, w * scale, generator=generator, dtype=torch.float64)
    y = torch.rand(1, 2, h, w, generator=generator, dtype=torch.float64)
    rest = op.project(x, y) - op.smooth_part(x, y)
    assert torch.allclose(rest, op.A_pinv(op.A(rest)), atol=1e-12)
    assert rest.abs().max() > 1e-10  # not vacuous: 16 back-projection steps leave a (small) rest
    levels = (y * 255).round()
    nearest = AvgPool(scale)
    whole = nearest.quantize(op.project(x * 255, levels), levels, 255)
    part = nearest.quantize(op.smooth_part(x * 255, levels), levels, 255)
    assert (whole - part).abs().max() <= 1


def test_smooth_quantize_takes_the_measured_box_mean_instead_of_computing_it(monkeypatch):
    """``measured`` saves the caller's pass: given, ``A(x_r)`` is not computed again (and the result is the one
    computed with it)."""
    generator = torch.Generator().manual_seed(3)
    y = torch.randint(60, 196, (1, 3, 4, 5), generator=generator)
    estimate = (AvgPool(2).A_pinv(y / 255) + torch.rand(1, 3, 8, 10, generator=generator) * 0.1).float()
    op = AvgPool(2, "smooth")
    measured = op.A(estimate)
    expected = op.quantize(estimate, y, 255, unit=255)

    def no_second_pass(x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("A(x_r) computed again although it was passed in")

    monkeypatch.setattr(op, "A", no_second_pass)
    assert torch.equal(op.quantize(estimate, y, 255, unit=255, measured=measured), expected)


def test_an_upsampling_whose_box_mean_is_not_a_separable_filter_is_refused(monkeypatch):
    """``A·U`` a cross-shaped 3×3 filter (sum 1, not an outer product): the taps cannot be read off it."""
    cross = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]], dtype=torch.float64).view(1, 1, 3, 3) / 5

    def nearest_of_cross(z: torch.Tensor, scale: int) -> torch.Tensor:
        return torch.nn.functional.interpolate(
            torch.nn.functional.conv2d(z, cross, padding=1), scale_factor=scale, mode="nearest"
        )

    monkeypatch.setattr("srcli.maths.operators.smooth_upsample", nearest_of_cross)
    _box_upsample_taps.cache_clear()
    with pytest.raises(RuntimeError, match="not a separable 3x3 one"):
        _box_upsample_taps(4)
    _box_upsample_taps.cache_clear()
