"""Property tests of exact quantisation (DESIGN section 2)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st

from srcli.maths import exact
from srcli.maths.exact import quantize_blocks, quantize_gray_mean, quantize_sr
from srcli.maths.operators import AvgPool

depths = st.sampled_from([255, 65535])


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    max_value=depths,
    n=st.integers(1, 64),
    blocks=st.integers(1, 50),
    spread=st.sampled_from([0.01, 1.0, 3.0]),
)
def test_block_means_are_exact_for_any_float_input(seed, max_value, n, blocks, spread):
    g = _gen(seed)
    values = (torch.rand(blocks, n, generator=g, dtype=torch.float64) * 2 - 0.5) * spread * max_value
    means = torch.randint(0, max_value + 1, (blocks,), generator=g)
    result = quantize_blocks(values, means, max_value)
    assert result.dtype == torch.int32
    assert result.min() >= 0 and result.max() <= max_value
    assert torch.equal(result.to(torch.int64).sum(-1), means * n)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), max_value=depths, scale=st.sampled_from([2, 3, 4, 8]))
def test_sr_quantisation_reduces_to_the_lr_exactly(seed, max_value, scale):
    g = _gen(seed)
    lr = torch.randint(0, max_value + 1, (1, 3, 5, 4), generator=g)
    noise = torch.randn(1, 3, 5 * scale, 4 * scale, generator=g, dtype=torch.float64) * max_value * 0.2
    estimate = AvgPool(scale).project(AvgPool(scale).A_pinv(lr.double()) + noise, lr.double())
    result = quantize_sr(estimate.float(), lr, scale, max_value)
    assert torch.equal(F.avg_pool2d(result.double(), scale), lr.double())


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), max_value=depths)
def test_in_range_consistent_estimates_move_by_less_than_one_level(seed, max_value):
    g = _gen(seed)
    lr = torch.randint(max_value // 4, 3 * max_value // 4, (1, 1, 6, 6), generator=g)
    op = AvgPool(4)
    estimate = op.project(
        op.A_pinv(lr.double()) + torch.rand(1, 1, 24, 24, generator=g, dtype=torch.float64), lr.double()
    )
    result = quantize_sr(estimate, lr, 4, max_value)
    assert (result.double() - estimate).abs().max() < 1


def test_integer_consistent_input_is_returned_unchanged(generator):
    lr = torch.randint(1, 255, (1, 3, 8, 8), generator=generator)
    consistent = AvgPool(2).A_pinv(lr.double()).clone()  # integers whose 2×2 means are the LR
    consistent[..., 0::2, 0::2] += 1  # still integers in range, with the same block sums
    consistent[..., 1::2, 1::2] -= 1
    assert torch.equal(quantize_sr(consistent, lr, 2, 255), consistent.to(torch.int32))


def test_rounding_picks_the_largest_fractions():
    values = torch.tensor([[0.9, 0.2, 0.6, 0.3]], dtype=torch.float64)  # sum 2.0
    assert quantize_blocks(values, torch.tensor([0.5]), 255).tolist() == [[1, 0, 1, 0]]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), max_value=depths)
def test_gray_mean_quantisation_is_exact(seed, max_value):
    g = _gen(seed)
    gray = torch.randint(0, max_value + 1, (1, 1, 7, 5), generator=g)
    estimate = torch.rand(1, 3, 7, 5, generator=g, dtype=torch.float64) * max_value * 1.4 - 0.2 * max_value
    result = quantize_gray_mean(estimate, gray, max_value)
    assert result.dtype == torch.int32
    assert torch.equal(result.to(torch.int64).sum(1, keepdim=True), 3 * gray)
    projection = estimate + (gray - estimate.mean(1, keepdim=True))  # PD: the same shift for the three channels
    inside = ((projection >= 0) & (projection <= max_value)).all(1, keepdim=True).expand_as(projection)
    assert ((result - projection).abs()[inside] < 1 + 1e-6 * max_value).all()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), spread=st.sampled_from([0.0, 20.0, 400.0]))
def test_pillow_gray_of_the_result_is_the_target(seed, spread):

    from srcli.io.images import pil_to_tensor, tensor_to_pil
    from srcli.maths.exact import quantize_gray_pillow

    g = _gen(seed)
    gray = torch.randint(0, 256, (1, 1, 9, 7), generator=g)
    estimate = gray.double().expand(1, 3, 9, 7) + torch.randn(1, 3, 9, 7, generator=g, dtype=torch.float64) * spread
    result = quantize_gray_pillow(estimate, gray)
    assert result.min() >= 0 and result.max() <= 255
    converted = pil_to_tensor(tensor_to_pil(result[0]).convert("L"))
    assert torch.equal(converted.long().unsqueeze(0), gray)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.sampled_from([3, 4, 9, 16, 64]), max_value=depths)
def test_rounding_is_the_largest_remainder_rule(seed, n, max_value):
    """In-range rows with exact means: each value goes to its floor or its floor + 1, and every
    value rounded up has a fractional part at least as large as every value rounded down."""
    g = _gen(seed)
    means = torch.randint(1, max_value, (40,), generator=g, dtype=torch.float64)
    values = means.unsqueeze(-1) + torch.randn(40, n, generator=g, dtype=torch.float64) * 0.8
    values = (values * 256).round() / 256  # multiples of 1/256: float32 holds them and their sums exactly
    values[:, -1] = means * n - values[:, :-1].sum(-1)  # exact means
    inside = ((values >= 0) & (values <= max_value)).all(-1)
    values, means = values[inside], means[inside]
    result = quantize_blocks(values, means.long(), max_value).double()
    floors = values.floor()
    up = result - floors
    assert ((up == 0) | (up == 1)).all()
    fractions = values - floors
    lowest_up = torch.where(up == 1, fractions, torch.inf).amin(-1)
    highest_down = torch.where(up == 0, fractions, -torch.inf).amax(-1)
    assert (lowest_up >= highest_down).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), spread=st.sampled_from([0.3, 1.0, 1.6]), max_value=depths)
def test_newton_shift_agrees_with_the_exact_solver_where_it_claims_a_solution(seed, spread, max_value):
    from srcli.maths.exact import _clipped_shift, _newton_shift

    g = _gen(seed)
    offset = torch.rand(64, 1, generator=g, dtype=torch.float64) * 1.2 - 0.1
    rows = (torch.rand(64, 16, generator=g, dtype=torch.float64) * spread + offset) * max_value
    target = torch.randint(0, max_value + 1, (64,), generator=g).double() * 16
    exact = _clipped_shift(rows, target, max_value)
    newton, solved = _newton_shift(rows, target, max_value)
    assert solved.any()
    assert torch.allclose(newton[solved], exact[solved], atol=1e-6 * max_value)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    max_value=depths,
    bad=st.sampled_from([float("nan"), float("inf"), -float("inf")]),
    where=st.sampled_from(["one", "all"]),
)
def test_non_finite_values_raise_instead_of_looping(seed, max_value, bad, where):
    """A NaN never lets a block's missing count reach zero: the rounding loop is bounded and says so."""
    g = _gen(seed)
    x = torch.rand(1, 3, 8, 8, generator=g, dtype=torch.float64) * max_value
    if where == "one":
        x[0, 1, 3, 5] = bad
    else:
        x.fill_(bad)
    lr = torch.randint(0, max_value + 1, (1, 3, 4, 4), generator=g)
    gray = torch.randint(0, max_value + 1, (1, 1, 8, 8), generator=g)
    for call in (lambda: quantize_sr(x, lr, 2, max_value), lambda: quantize_gray_mean(x, gray, max_value)):
        try:
            call()
        except ValueError as error:
            assert str(error) == "exact quantisation needs finite values; the estimate holds NaN or infinity"
        else:
            raise AssertionError("a non-finite estimate was quantised")


def _projection_by_bisection(values: torch.Tensor, means: torch.Tensor, max_value: int) -> torch.Tensor:
    """The Euclidean projection of each row onto ``{mean = means} ∩ [0, max_value]ⁿ`` by bisection on the shift
    (``Σ clip(x + λ)`` is non-decreasing in ``λ``): an independent solver, not the one under test."""
    target = means.double() * values.shape[-1]
    low = torch.full_like(target, -2.0 * max_value) - values.amax(-1)
    high = torch.full_like(target, 2.0 * max_value) - values.amin(-1)
    for _ in range(200):
        middle = (low + high) / 2
        below = (values + middle.unsqueeze(-1)).clamp(0, max_value).sum(-1) < target
        low, high = torch.where(below, middle, low), torch.where(below, high, middle)
    return (values + ((low + high) / 2).unsqueeze(-1)).clamp(0, max_value)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    max_value=depths,
    n=st.sampled_from([2, 4, 9, 16, 64]),
    spread=st.sampled_from([1.0, 3.0, 10.0]),
    offset=st.floats(-1.0, 1.0),
)
def test_clipped_blocks_land_next_to_their_euclidean_projection(seed, max_value, n, spread, offset):
    """Blocks that clip, heavily too: every value ends on the floor or the ceiling of the exact projection."""
    g = _gen(seed)
    values = (torch.rand(30, n, generator=g, dtype=torch.float64) - 0.5 + offset) * spread * max_value
    means = torch.randint(0, max_value + 1, (30,), generator=g)
    projection = _projection_by_bisection(values, means, max_value)
    result = quantize_blocks(values, means, max_value).double()
    assert ((result - projection).abs() < 1 + 1e-6 * max_value).all()
    assert torch.equal(result.sum(-1), means.double() * n)


def test_rows_clipping_one_by_one_are_projected_exactly():
    """Kinks spread evenly over the range: Newton's first steps pass few of them, the projection is still exact."""
    values = torch.linspace(-255.0, 2 * 255.0, 64, dtype=torch.float64).repeat(5, 1)
    values[1] += 0.37
    values[2] = values[2].flip(-1)
    means = torch.tensor([3, 17, 128, 240, 254])
    projection = _projection_by_bisection(values, means, 255)
    result = quantize_blocks(values, means, 255).double()
    assert ((result - projection).abs() < 1).all()


PILLOW_WEIGHTS = torch.tensor([19595, 38470, 7471], dtype=torch.float64)  # Pillow's convert("L"), Convert.c


def _pillow_gray(rgb: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` 8-bit RGB → Pillow's own ``convert("L")`` ``(N, 1, H, W)``, image by image."""
    from srcli.io.images import pil_to_tensor, tensor_to_pil

    return torch.stack([pil_to_tensor(tensor_to_pil(image).convert("L")) for image in rgb]).long()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), spread=st.sampled_from([3.0, 20.0, 60.0]), gray_dtype=st.sampled_from(["u8", "i64"]))
def test_pillow_gray_result_stays_next_to_the_projection(seed, spread, gray_dtype):
    """The result is the PD estimate with Pillow's weights (each channel shifted by ``L − w·x``), rounded: where no
    channel clips, rounding moves the weighted sum by at most 32768 (half a level × 65536), one unit past Pillow's
    window at worst, which one level of one channel fixes: never further than 1.5 levels from the estimate."""
    from srcli.maths.exact import quantize_gray_pillow

    g = _gen(seed)
    gray = torch.randint(40, 216, (2, 1, 6, 5), generator=g)
    estimate = gray.double().expand(2, 3, 6, 5) + torch.randn(2, 3, 6, 5, generator=g, dtype=torch.float64) * spread
    estimate = estimate.clamp(0, 255)
    shift = gray - (estimate * PILLOW_WEIGHTS.view(1, 3, 1, 1)).sum(1, keepdim=True) / 65536
    projection = estimate + shift
    inside = ((projection > 0) & (projection < 255)).all(1, keepdim=True).expand_as(projection)
    result = quantize_gray_pillow(estimate, gray.to(torch.uint8) if gray_dtype == "u8" else gray)
    assert result.dtype == torch.int32
    assert torch.equal(_pillow_gray(result), gray)
    assert ((result - projection).abs()[inside] <= 1.5).all()


def test_pillow_gray_half_level_ties():
    """Channels exactly halfway (``k + ½``) whose weighted sum is exactly ``65536 L``: rounding half to even gives
    ``k`` for even ``k`` (Pillow's luma of ``k`` is ``L``, rounded half up: kept), and ``k + 1`` for odd ``k``
    (luma ``L + 1``, one unit past the window: one channel comes back down). Lumas from Pillow itself."""
    from srcli.maths.exact import quantize_gray_pillow

    even, odd = torch.tensor([4, 56, 188]), torch.tensor([3, 55, 187])
    for k in (even, odd):
        rgb = k.view(1, 3, 1, 1)
        gray = _pillow_gray(rgb)
        estimate = rgb.double() + 0.5
        assert (estimate * PILLOW_WEIGHTS.view(1, 3, 1, 1)).sum().item() == 65536 * gray.item()  # already consistent
        result = quantize_gray_pillow(estimate, gray)
        assert torch.equal(_pillow_gray(result), gray)
        assert ((result - estimate).abs() == 0.5).all()
    assert torch.equal(
        quantize_gray_pillow(even.view(1, 3, 1, 1) + 0.5, _pillow_gray(even.view(1, 3, 1, 1))).flatten(), even
    )


def test_pillow_gray_keeps_consistent_integers_at_the_window_edges():
    """Integer RGB whose weighted sum is one unit inside Pillow's rounding window (``65536 L ± 32767``) is
    consistent as it is: PD moves it by less than half a level, and nothing else moves it."""
    from srcli.maths.exact import quantize_gray_pillow

    rgb = torch.tensor([[3, 65, 232], [3, 186, 30], [3, 45, 142], [4, 46, 143], [0, 0, 0], [255, 255, 255]])
    rgb = rgb.T.reshape(1, 3, 1, 6)
    weighted = (rgb.double() * PILLOW_WEIGHTS.view(1, 3, 1, 1)).sum(1).flatten() % 65536
    assert weighted.tolist()[:4] == [32767, 32767, 32769, 32769]  # 65536 L + 32767 and 65536 L − 32767
    assert torch.equal(quantize_gray_pillow(rgb.double(), _pillow_gray(rgb)), rgb.to(torch.int32))


def test_sixteen_bit_values_are_rounded_from_float64():
    """At 16 bits a thousandth of a level decides the rounding (largest remainder: .501 goes up, .499 down); float32
    holds 60000.501 and 59999.499 as 60000.5 and 59999.5, a tie."""
    values = torch.tensor([[60000.501, 59999.499, 60000.0, 60000.0]], dtype=torch.float64)
    assert quantize_blocks(values, torch.tensor([60000]), 65535).tolist() == [[60001, 59999, 60000, 60000]]
    sr = quantize_sr(values.view(1, 1, 2, 2), torch.tensor([[[[60000]]]]), 2, 65535)
    assert sr.dtype == torch.int32 and sr.flatten().tolist() == [60001, 59999, 60000, 60000]


def test_inputs_are_not_modified():
    one_block = torch.tensor([[0.4, 0.4, 0.4, 300.0]])  # float32, one row: its transpose is contiguous already
    kept = one_block.clone()
    quantize_blocks(one_block, torch.tensor([2]), 255)
    assert torch.equal(one_block, kept)
    rgb = torch.tensor([[[[10.2, -3.0]], [[80.7, 20.0]], [[250.0, 300.0]]]])  # float32, N = 1: planes would be a view
    kept = rgb.clone()
    quantize_gray_mean(rgb, torch.tensor([[[[120, 100]]]]), 255)
    assert torch.equal(rgb, kept)


def test_bad_targets_and_shapes_raise_clear_errors():
    import pytest

    for means in (torch.tensor([-1, 3]), torch.tensor([3, 256])):
        with pytest.raises(ValueError, match=r"targets must lie in \[0, 255\]"):
            quantize_blocks(torch.zeros(2, 4), means, 255)
    with pytest.raises(ValueError, match=r"values must be \(B, n\) and means \(B,\), got \(2, 4\), \(3,\)"):
        quantize_blocks(torch.zeros(2, 4), torch.zeros(3), 255)
    with pytest.raises(ValueError, match=r"got \(8,\), \(8,\)"):
        quantize_blocks(torch.zeros(8), torch.zeros(8), 255)
    with pytest.raises(ValueError, match=r"estimate \(1, 1, 4, 6\) does not match LR \(1, 1, 2, 2\) at ×2"):
        quantize_sr(torch.zeros(1, 1, 4, 6), torch.zeros(1, 1, 2, 2, dtype=torch.int64), 2, 255)


def test_blocks_newton_does_not_settle_fall_back_to_the_exact_solver():
    """Values spread geometrically up to far above the range, target near the top: Newton from the unclipped shift
    clips them one by one and is not done after its steps; the result is still next to the exact projection."""
    from srcli.maths.exact import NEWTON_STEPS, _newton_shift

    values = torch.stack([5000.0 / base ** torch.arange(64, dtype=torch.float64) for base in (1.05, 1.1, 1.1, 1.2)])
    means = torch.tensor([248, 245, 247, 244])
    shift, solved = _newton_shift(values, means.double() * 64, 255)
    residual = ((values + shift.unsqueeze(-1)).clamp(0, 255).sum(-1) - means * 64).abs()
    assert not solved.any() and (residual > 1).all(), f"Newton settled these rows within {NEWTON_STEPS} steps"
    projection = _projection_by_bisection(values, means, 255)
    result = quantize_blocks(values, means, 255).double()
    assert ((result - projection).abs() < 1 + 1e-3).all()


def test_pillow_luma_is_pillow_convert_l():
    """Every 8-bit level of each channel alone, and random colours, against Pillow's own ``convert("L")``."""
    from srcli.maths.exact import pillow_luma

    ramp = torch.arange(256).view(1, 1, 1, 256)
    zeros = torch.zeros_like(ramp)
    rgb = torch.cat(
        [
            torch.cat([ramp, zeros, zeros], 1),
            torch.cat([zeros, ramp, zeros], 1),
            torch.cat([zeros, zeros, ramp], 1),
            torch.randint(0, 256, (1, 3, 1, 256), generator=_gen(5)),
            # weighted sums 65536 L + 32767 (the last to round down) and 65536 L − 32768 (the first to round up)
            torch.tensor([[3, 65, 232], [3, 186, 30], [4, 56, 188], [3, 55, 187]] * 64).T.reshape(1, 3, 1, 256),
        ],
        0,
    )
    luma = pillow_luma(rgb)
    assert luma.dtype == torch.int64 and luma.shape == (5, 1, 1, 256)
    assert torch.equal(luma, _pillow_gray(rgb))


def test_a_block_missing_many_units_is_completed():
    """Fifteen values at 10.4 and one at 4 (mean 10) round to a sum 6 short: six of the tied 10.4s go up, whatever
    the number of blocks (the completion loop is bounded by the block size, not the block count)."""
    values = torch.tensor([[10.4] * 15 + [4.0]], dtype=torch.float64)
    result = quantize_blocks(values, torch.tensor([10]), 255)[0].tolist()
    assert result[-1] == 4 and sorted(result[:-1]) == [10] * 9 + [11] * 6


def test_pillow_gray_step_up_after_a_clipped_channel():
    """Gray 250 from (300, 240, 240): PD shifts every channel by 250 − 257.94 to (292.06, 232.06, 232.06), red clips
    at 255 and the rounded weighted sum 15655037 lies 696195 below Pillow's window (65536·250 − 32768). Red has no
    room, blue's 23 levels are worth 171833: green moves up by ⌈696195 / 38470⌉ = 19 levels, to 251."""
    from srcli.maths.exact import quantize_gray_pillow

    estimate = torch.tensor([300.0, 240.0, 240.0], dtype=torch.float64).view(1, 3, 1, 1)
    result = quantize_gray_pillow(estimate, torch.tensor([[[[250]]]]))
    assert result.flatten().tolist() == [255, 251, 232]
    assert _pillow_gray(result).item() == 250


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), scale=st.sampled_from([2, 3, 4]), rows=st.integers(1, 7), height=st.integers(1, 9))
@example(seed=162, scale=3, rows=1, height=8)
def test_sr_quantisation_strip_by_strip_equals_the_whole_image_at_once(seed, scale, rows, height):
    """Strips of ``rows`` LR rows (the last one ragged) give the integers of one strip over the whole image: the
    strips' offsets into the estimate, the LR and ``out`` line up. Exactly so but for float32 rounding: torch may sum
    a block's values in another order for another strip width, and a value that lands a last bit the other side of
    a half moves a unit to a neighbour in its block (seed 162, ×3, 1 row, height 8: two values of 360)."""
    g = _gen(seed)
    lr = torch.randint(0, 256, (1, 3, height, 5), generator=g)
    estimate = torch.rand(1, 3, height * scale, 5 * scale, generator=g) * 300 - 20
    whole = quantize_sr(estimate, lr, scale, 255)
    strip_elements = rows * 3 * 5 * scale * scale
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exact, "STRIP_ELEMENTS", strip_elements)
        out = torch.zeros(1, 3, height * scale, 5 * scale, dtype=torch.uint8)
        strips = quantize_sr(estimate, lr, scale, 255, out=out)
    assert strips is out
    sums = strips.to(torch.int64).view(1, 3, height, scale, 5, scale).sum((3, 5))
    assert torch.equal(sums, lr * scale * scale)  # every strip's blocks where their LR pixels are
    moved = strips.to(torch.int32) - whole
    assert moved.abs().max() <= 1 and int(moved.ne(0).sum()) <= max(2, whole.numel() // 50)


def test_an_addend_is_added_to_its_own_rows_in_level_units():
    """``addend(top, bottom)`` lands on HR rows ``s·top:s·bottom``, in the s²-plane layout, added to ``x · unit``: an
    addend of LR row ``r`` (as level values) on a zero estimate gives back the LR exactly where it is consistent."""
    lr = torch.arange(0, 6 * 4, dtype=torch.int64).view(1, 1, 6, 4) * 10
    calls = []

    def addend(top: int, bottom: int) -> torch.Tensor:
        calls.append((top, bottom))
        return lr[..., top:bottom, :].float().expand(2, 2, 1, 1, bottom - top, 4).clone()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exact, "STRIP_ELEMENTS", 2 * 4 * 4)  # two LR rows a strip
        result = quantize_sr(torch.full((1, 1, 12, 8), 0.5), lr, 2, 255, unit=0.0, addend=addend)
    assert calls == [(0, 2), (2, 4), (4, 6)]
    assert torch.equal(result, lr.repeat_interleave(2, -2).repeat_interleave(2, -1).to(torch.int32))


def test_an_addend_s_planes_land_on_their_own_pixels():
    """Plane ``[i, j]`` of the addend is HR pixel ``(s·r + i, s·c + j)``: a zero estimate plus an addend that puts
    all of a block's sum on one pixel of it, the pixel chosen per plane, comes back as that very picture."""
    scale, lr = 3, torch.tensor([[[[4, 7], [1, 9]]]])
    picture = torch.zeros(1, 1, 6, 6)
    picture[..., 0::3, 1::3] = lr * 9.0  # each block's whole sum on its pixel (0, 1)

    def addend(top: int, bottom: int) -> torch.Tensor:
        return picture[..., 3 * top : 3 * bottom, :].reshape(1, 1, bottom - top, 3, 2, 3).permute(3, 5, 0, 1, 2, 4)

    result = quantize_sr(torch.zeros(1, 1, 6, 6), lr, scale, 255, addend=lambda t, b: addend(t, b).contiguous())
    assert torch.equal(result, picture.to(torch.int32))
