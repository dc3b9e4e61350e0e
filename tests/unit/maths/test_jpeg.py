"""The JPEG operator: tables, colour, DCT, the bins of a file and the projection onto them."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.maths.jpeg import (
    CHROMA_TABLE,
    LUMA_TABLE,
    JpegCoefficients,
    JpegLayout,
    Smoothness,
    agreement,
    block_dct,
    dct_coefficients,
    decode,
    mcu_mismatches,
    project_consistent,
    project_to_bins,
    quality_tables,
    quantize_coefficients,
    rgb_to_ycbcr,
    shrink_to_centres,
    smooth_to_bins,
    ycbcr_to_rgb,
)
from srcli.maths.jpeg_search import integer_antecedent

LAYOUTS = [JpegLayout((2, 2)), JpegLayout((1, 2)), JpegLayout((1, 1)), JpegLayout(gray=True)]


def test_quality_tables_follow_libjpegs_scaling():
    # IJG: quality 50 is Annex K itself, 100 all ones, 10 is 500 % of it, 75 half of it (rounded, clamped to 1..255)
    assert quality_tables(50)[0].tolist() == [list(row) for row in LUMA_TABLE]
    assert quality_tables(50)[1].tolist() == [list(row) for row in CHROMA_TABLE]
    assert bool((quality_tables(100) == 1).all())
    assert quality_tables(10)[0, 0, 0] == 80 and quality_tables(10)[1, 7, 7] == 255
    assert quality_tables(75)[0, 0, 0] == 8 and quality_tables(75)[0, 4, 4] == 34
    with pytest.raises(ValueError):
        quality_tables(0)


def test_colour_conversion_is_jfifs():
    # pure red in JFIF full range: Y 76.245, Cb 84.97, Cr 255.5
    red = torch.tensor([255.0, 0, 0], dtype=torch.float64).view(1, 3, 1, 1)
    y, cb, cr = rgb_to_ycbcr(red).flatten().tolist()
    assert (round(y, 3), round(cb, 2), round(cr, 1)) == (76.245, 84.97, 255.5)


def test_block_dct_is_jpegs_orthonormal_dct():
    # one AC basis function in, one coefficient out: F(u, v) = ¼ C(u) C(v) ΣΣ f cos cos
    n = torch.arange(8, dtype=torch.float64)
    pattern = torch.cos((2 * n + 1) * 1 * math.pi / 16)[:, None] * torch.ones(8, dtype=torch.float64)[None, :]
    coefficients = block_dct(pattern.view(1, 1, 8, 8))[0, 0]
    expected = 0.25 * 1 * (1 / math.sqrt(2)) * (pattern * pattern).sum() / 1  # u = 1, v = 0
    assert coefficients[1, 0].item() == pytest.approx(expected.item() * 1.0, rel=1e-12)
    coefficients[1, 0] = 0
    assert coefficients.abs().max().item() < 1e-12


@settings(max_examples=25, deadline=None)
@given(
    layout=st.sampled_from(LAYOUTS),
    mcu_rows=st.integers(1, 3),
    mcu_cols=st.integers(1, 3),
    quality=st.integers(5, 100),
    seed=st.integers(0, 2**31 - 1),
    margin=st.sampled_from([0.0, 0.5, 0.75]),
)
def test_projection_lands_in_the_bins_and_is_idempotent(layout, mcu_rows, mcu_cols, quality, seed, margin):
    generator = torch.Generator().manual_seed(seed)
    channels, height, width = 1 if layout.gray else 3, mcu_rows * layout.mcu[0], mcu_cols * layout.mcu[1]
    truth = torch.rand(1, channels, height, width, generator=generator, dtype=torch.float64) * 255
    guess = torch.rand(1, channels, height, width, generator=generator, dtype=torch.float64) * 255
    file = quantize_coefficients(truth, quality_tables(quality), layout)
    projected = project_to_bins(guess, file, margin)
    luma, chroma = dct_coefficients(projected, file.tables, layout)
    assert (luma - file.luma).abs().max().item() <= 0.5 + 1e-6
    if chroma is not None:
        assert (chroma - file.chroma).abs().max().item() <= 0.5 + 1e-6
    assert torch.allclose(project_to_bins(projected, file, margin), projected, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(
    layout=st.sampled_from(LAYOUTS),
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    quality=st.integers(5, 100),
    seed=st.integers(0, 2**31 - 1),
)
def test_iterated_projection_at_ragged_borders_gets_closer_to_the_bins(layout, height, width, quality, seed):
    generator = torch.Generator().manual_seed(seed)
    channels = 1 if layout.gray else 3
    truth = torch.rand(1, channels, height, width, generator=generator, dtype=torch.float64) * 255
    guess = torch.rand(1, channels, height, width, generator=generator, dtype=torch.float64) * 255
    file = quantize_coefficients(truth, quality_tables(quality), layout)

    def outside(image: torch.Tensor) -> float:
        luma, chroma = dct_coefficients(image, file.tables, layout)
        excess = [((luma - file.luma).abs() - 0.5).clamp_min(0).sum()]
        if chroma is not None:
            excess.append(((chroma - file.chroma).abs() - 0.5).clamp_min(0).sum())
        return float(sum(excess))

    assert torch.equal(project_to_bins(truth, file, 0.0), truth) or outside(truth) == 0
    assert outside(project_consistent(guess, file, 0.0, 20)) <= 0.5 * outside(guess) + 1e-6


SATURATING = {
    "layout": st.sampled_from(LAYOUTS),
    "height": st.integers(1, 50),
    "width": st.integers(1, 50),
    "quality": st.integers(5, 100),
    "seed": st.integers(0, 2**31 - 1),
    "iterations": st.integers(1, 6),
}
"""A file of a random picture and a guess far from it, outside [0, 255] in places, with a number of rounds."""


def _saturating(
    layout: JpegLayout, height: int, width: int, quality: int, seed: int
) -> tuple[torch.Tensor, JpegCoefficients]:
    """A guess ``(1, C, height, width)`` in [−40, 300] and the file of another random picture, ``quality``."""
    generator = torch.Generator().manual_seed(seed)
    channels = 1 if layout.gray else 3
    truth = torch.rand(1, channels, height, width, generator=generator, dtype=torch.float64) * 255
    guess = torch.rand(1, channels, height, width, generator=generator, dtype=torch.float64) * 340 - 40
    return guess, quantize_coefficients(truth, quality_tables(quality), layout)


@settings(max_examples=30, deadline=None)
@given(**SATURATING)
def test_repeated_projection_of_the_clipped_mcus_is_the_whole_images(layout, height, width, quality, seed, iterations):
    # project_consistent repeats the projection only on the MCUs the clip changed and the ragged borders; the plain
    # alternation over the whole image, stopped where an aligned image comes back unclipped, must give the same
    guess, file = _saturating(layout, height, width, quality, seed)
    aligned = height % layout.mcu[0] == 0 and width % layout.mcu[1] == 0
    expected = guess
    for _ in range(iterations):
        projected = project_to_bins(expected, file)
        expected = projected.clamp(0, 255)
        if aligned and torch.equal(expected, projected):
            break
    # an MCU left in its bins moves by JFIF's 9-digit colour matrices' round trip (under 1e-6) when projected again
    assert torch.allclose(
        project_consistent(guess, file, iterations=iterations, settled=0), expected, rtol=0, atol=1e-6
    )


@settings(max_examples=30, deadline=None)
@given(**SATURATING)
def test_a_clipped_projection_projects_as_from_the_start(layout, height, width, quality, seed, iterations):
    # an image the bins' projection put in them, clipped to [0, 255] (what smooth_to_bins hands over), given as such
    # (in_bins): the MCUs at 0 or 255 and the ragged ones go on as if project_consistent had made the first projection
    guess, file = _saturating(layout, height, width, quality, seed)
    clipped = project_to_bins(guess, file).clamp(0, 255)
    before = clipped.clone()
    given = project_consistent(clipped, file, iterations=iterations, settled=0, in_bins=True)
    assert torch.equal(clipped, before)  # the caller's image is not written to
    expected = project_consistent(guess, file, iterations=iterations + 1, settled=0)
    assert torch.allclose(given, expected, rtol=0, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(layout=st.sampled_from(LAYOUTS), quality=st.integers(20, 95), seed=st.integers(0, 2**31 - 1))
def test_projection_leaves_an_image_inside_the_bins_unchanged(layout, quality, seed):
    generator = torch.Generator().manual_seed(seed)
    channels = 1 if layout.gray else 3
    image = torch.rand(1, channels, 16, 32, generator=generator, dtype=torch.float64) * 255
    file = quantize_coefficients(image, quality_tables(quality), layout)
    inside = decode(file)  # the dequantized image sits at every bin's centre
    assert torch.allclose(project_to_bins(inside, file), inside, atol=1e-6)


def _luma_steps(image: torch.Tensor, layout: JpegLayout) -> tuple[float, float]:
    """Sum of squared luma steps across 8×8 block borders, and between the other neighbours."""
    luma = rgb_to_ycbcr(image)[:, :1] if not layout.gray else image
    across = (luma[..., 1:] - luma[..., :-1]).square()
    down = (luma[..., 1:, :] - luma[..., :-1, :]).square()
    border_x, border_y = torch.arange(1, luma.shape[-1]) % 8 == 0, torch.arange(1, luma.shape[-2]) % 8 == 0
    border = across[..., border_x].sum() + down[..., border_y, :].sum()
    return float(border), float(across.sum() + down.sum() - border)


SMOOTHNESSES = [Smoothness(0.1), Smoothness(0.3, 0.1), Smoothness(2.0, 1.0), Smoothness(0.0, 0.5)]


@settings(max_examples=25, deadline=None)
@given(
    layout=st.sampled_from(LAYOUTS),
    mcu_rows=st.integers(1, 3),
    mcu_cols=st.integers(1, 3),
    quality=st.integers(5, 100),
    seed=st.integers(0, 2**31 - 1),
    margin=st.sampled_from([0.0, 0.75, 1.5]),
    smoothness=st.sampled_from(SMOOTHNESSES),
)
def test_smooth_projection_lands_in_the_bins_and_is_smoother_than_the_nearest(
    layout, mcu_rows, mcu_cols, quality, seed, margin, smoothness
):
    generator = torch.Generator().manual_seed(seed)
    channels, height, width = 1 if layout.gray else 3, mcu_rows * layout.mcu[0], mcu_cols * layout.mcu[1]
    truth = torch.rand(1, channels, height, width, generator=generator, dtype=torch.float64) * 255
    guess = torch.rand(1, channels, height, width, generator=generator, dtype=torch.float64) * 255
    file = quantize_coefficients(truth, quality_tables(quality), layout)
    smooth = smooth_to_bins(guess, file, smoothness, margin)
    luma, chroma = dct_coefficients(smooth, file.tables, layout)
    assert (luma - file.luma).abs().max().item() <= 0.5 + 1e-6
    if chroma is not None:
        assert (chroma - file.chroma).abs().max().item() <= 0.5 + 1e-6
    nearest = project_to_bins(guess, file, margin)

    def luma_cost(image: torch.Tensor) -> float:  # the luma plane's share of what smooth_to_bins minimises
        change = (rgb_to_ycbcr(image) - rgb_to_ycbcr(guess))[:, :1] if not layout.gray else image - guess
        border, inside = _luma_steps(image, layout)
        return 0.5 * float(change.square().sum()) + 0.5 * (smoothness.border * border + smoothness.inside * inside)

    assert luma_cost(smooth) <= luma_cost(nearest) * (1 + 1e-6)  # FISTA runs in float32: equal to 1e-7 of the cost


@settings(max_examples=20, deadline=None)
@given(
    layout=st.sampled_from(LAYOUTS),
    quality=st.integers(5, 100),
    seed=st.integers(0, 2**31 - 1),
    smoothness=st.sampled_from(SMOOTHNESSES),
)
def test_smooth_projection_leaves_a_flat_image_inside_the_bins_unchanged(layout, quality, seed, smoothness):
    # nothing to smooth and nothing to move: the image is its own smooth projection
    generator = torch.Generator().manual_seed(seed)
    channels = 1 if layout.gray else 3
    level = torch.rand(1, channels, 1, 1, generator=generator, dtype=torch.float64) * 255
    flat = level.expand(1, channels, 16, 32).clone()
    file = quantize_coefficients(flat, quality_tables(quality), layout)
    assert torch.allclose(smooth_to_bins(flat, file, smoothness, margin=0.0), flat, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(layout=st.sampled_from(LAYOUTS), quality=st.integers(5, 100), seed=st.integers(0, 2**31 - 1))
def test_smooth_projection_without_weights_is_the_nearest_one(layout, quality, seed):
    generator = torch.Generator().manual_seed(seed)
    channels = 1 if layout.gray else 3
    truth, guess = (torch.rand(1, channels, 16, 32, generator=generator, dtype=torch.float64) * 255 for _ in "ab")
    file = quantize_coefficients(truth, quality_tables(quality), layout)
    assert torch.equal(smooth_to_bins(guess, file, Smoothness()), project_to_bins(guess, file))
    inside = decode(file)
    assert torch.allclose(smooth_to_bins(inside, file, Smoothness()), inside, atol=1e-6)


def test_border_weight_takes_the_blocking_out_of_an_estimate_that_kept_it():
    # an estimate with the JPEG's blocking (the decoded file) plus a little noise: the nearest image in the bins
    # keeps its steps across block borders; the border weight removes most of them and moves little else
    generator = torch.Generator().manual_seed(3)
    y, x = torch.meshgrid(torch.arange(32.0), torch.arange(48.0), indexing="ij")
    photo = torch.stack((x * 4 + 20, y * 5 + 30, (x + y) * 2 + 40))[None].double()
    file = quantize_coefficients(photo, quality_tables(20), JpegLayout())
    estimate = decode(file) + torch.randn(photo.shape, generator=generator, dtype=torch.float64)
    nearest, smooth = project_to_bins(estimate, file), smooth_to_bins(estimate, file, Smoothness(0.3))
    (nearest_border, nearest_inside), (smooth_border, smooth_inside) = (
        _luma_steps(image, file.layout) for image in (nearest, smooth)
    )
    assert smooth_border < 0.5 * nearest_border
    assert smooth_inside == pytest.approx(nearest_inside, rel=0.25)


def test_decode_inverts_the_coefficients_of_a_flat_image():
    flat = torch.full((1, 3, 16, 16), 100.0, dtype=torch.float64)
    file = quantize_coefficients(flat, quality_tables(100), JpegLayout())
    assert torch.allclose(decode(file), flat, atol=1.0)


def test_mcu_mismatches_and_agreement_count_per_mcu():
    image = torch.rand(1, 3, 20, 40, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 255
    file = quantize_coefficients(image, quality_tables(50), JpegLayout())
    wrong = JpegCoefficients(file.luma.clone(), file.chroma.clone(), file.tables, file.layout, file.size)
    wrong.luma[0, 17, 33] += 1  # the MCU at row 1, column 2 (16×16 MCUs)
    wrong.chroma[1, 0, 0] -= 2  # MCU (0, 0)
    misses = mcu_mismatches(wrong, file)
    assert misses.shape == (2, 3)
    assert misses.tolist() == [[1, 0, 0], [0, 0, 1]]
    found = agreement(wrong, file)
    total = file.luma.numel() + file.chroma.numel()
    assert (found.coefficients, found.total_coefficients, found.mcus, found.total_mcus) == (total - 2, total, 4, 6)
    assert not found.exact and agreement(file, file).exact


def test_integer_antecedent_repairs_with_the_encoders_verdict():
    # an "encoder" whose integer arithmetic differs from the float model, as libjpeg's does: it rounds the colour
    # conversion to integers before the DCT; the repair must bring 8-bit images close to the file (the real encoder's
    # exactness is tested through the commands) and never do worse than rounding the projection
    layout, tables = JpegLayout(), quality_tables(60)

    def encode(image: torch.Tensor) -> JpegCoefficients:
        return quantize_coefficients(ycbcr_to_rgb(rgb_to_ycbcr(image.double()).round()), tables, layout)

    noise = torch.rand(1, 3, 10, 10, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    photo = (F.interpolate(noise, size=(40, 40), mode="bicubic", align_corners=False) * 180 + 40).round()
    grain = (noise.repeat(1, 1, 4, 4) * 255).round()  # hard edges every 10 pixels, across MCU borders
    for truth, floor in ((photo, 0.999), (grain, 0.99)):
        file = encode(truth.to(torch.uint8))
        start = (truth + torch.randn(truth.shape, generator=torch.Generator().manual_seed(4)) * 6).clamp(0, 255)
        rounded = agreement(encode(project_consistent(start, file).round().to(torch.uint8)), file)
        image, found = integer_antecedent(start, file, encode)
        assert image.dtype == torch.uint8 and image.shape == truth.shape
        assert agreement(encode(image), file) == found
        assert found.coefficients >= rounded.coefficients and found.mcus >= rounded.mcus
        assert found.fraction >= floor and found.fraction > rounded.fraction, (found, rounded)


@settings(max_examples=25, deadline=None)
@given(
    layout=st.sampled_from(LAYOUTS),
    mcu_rows=st.integers(1, 3),
    mcu_cols=st.integers(1, 3),
    quality=st.integers(5, 100),
    seed=st.integers(0, 2**31 - 1),
)
def test_shrinking_towards_the_centres_stays_in_the_bins_and_interpolates(layout, mcu_rows, mcu_cols, quality, seed):
    # a convex combination of an image in the bins and the bins' centres: every coefficient stays in its bin, and
    # sits at λ of its way from the centre; λ = 1 leaves the image, λ = 0 gives the centres (the decoded luma)
    generator = torch.Generator().manual_seed(seed)
    channels, height, width = 1 if layout.gray else 3, mcu_rows * layout.mcu[0], mcu_cols * layout.mcu[1]
    truth, guess = (
        torch.rand(1, channels, height, width, generator=generator, dtype=torch.float64) * 255 for _ in "ab"
    )
    file = quantize_coefficients(truth, quality_tables(quality), layout)
    inside = smooth_to_bins(guess, file, Smoothness(0.3, 0.1))
    weights = torch.rand(2, 8, 8, generator=generator, dtype=torch.float64)
    shrunk = shrink_to_centres(inside, file, weights)
    before, after = dct_coefficients(inside, file.tables, layout), dct_coefficients(shrunk, file.tables, layout)
    for component, (was, now, centre) in enumerate(zip(before, after, (file.luma, file.chroma), strict=True)):
        if centre is None:
            continue
        assert (now - centre).abs().max().item() <= 0.5 + 1e-6
        keep = weights[component].repeat(centre.shape[-2] // 8, centre.shape[-1] // 8)
        assert torch.allclose(now - centre, keep * (was - centre), atol=1e-6)
    assert torch.allclose(shrink_to_centres(inside, file, torch.ones(2, 8, 8, dtype=torch.float64)), inside)
    centres = shrink_to_centres(inside, file, torch.zeros(2, 8, 8, dtype=torch.float64))
    luma_of = (lambda image: image) if layout.gray else (lambda image: rgb_to_ycbcr(image)[:, :1])
    assert torch.allclose(luma_of(centres), luma_of(decode(file)), atol=1e-6)


def test_an_mcu_the_last_round_hardly_moved_is_not_projected_again():
    # a saturating guess, MCU-aligned: counted settled after one repeated round (settled = ∞), every MCU stops there,
    # as two rounds would; counted settled never (0), the rounds go on and move the picture further
    generator = torch.Generator().manual_seed(4)
    truth = torch.rand(1, 3, 32, 32, generator=generator, dtype=torch.float64) * 255
    guess = torch.rand(1, 3, 32, 32, generator=generator, dtype=torch.float64) * 340 - 40
    file = quantize_coefficients(truth, quality_tables(60), JpegLayout((2, 2)))
    two = project_consistent(guess, file, iterations=2, settled=0)
    assert torch.equal(project_consistent(guess, file, iterations=8, settled=float("inf")), two)
    assert (project_consistent(guess, file, iterations=8, settled=0) - two).abs().max() > 0.1
