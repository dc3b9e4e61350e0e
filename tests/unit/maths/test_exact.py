"""Property tests of exact quantisation (DESIGN section 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

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
    assert torch.equal(result.to(torch.int64).sum(1, keepdim=True), 3 * gray)


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
            assert "finite" in str(error)
        else:
            raise AssertionError("a non-finite estimate was quantised")
