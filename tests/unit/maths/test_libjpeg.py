"""libjpeg's integer encoder in torch, against Pillow's libjpeg; the exact MCU search that uses it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.io.jpeg_files import encode_like, jpeg_round_trip
from srcli.maths import jpeg_search
from srcli.maths.jpeg import JpegCoefficients, agreement, dct_coefficients, mcu_mismatches, project_consistent
from srcli.maths.jpeg_search import float_start, integer_antecedent, search_mcu
from srcli.maths.libjpeg import bin_interval, libjpeg_workspace, quantize_workspace

SAMPLINGS = [(2, 2), (1, 2), (1, 1)]


@settings(max_examples=40, deadline=None)
@given(
    sampling=st.sampled_from(SAMPLINGS),
    gray=st.booleans(),
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    quality=st.sampled_from([1, 20, 50, 75, 90, 95, 100]),
    saturated=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_workspace_quantizes_to_pillows_coefficients(sampling, gray, height, width, quality, saturated, seed):
    generator = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, (1, 1 if gray else 3, height, width), generator=generator, dtype=torch.uint8)
    if saturated:
        image = torch.where(image < 128, 0, 255).to(torch.uint8)
    _, file = jpeg_round_trip(image, quality, sampling)
    luma, chroma = libjpeg_workspace(image, file.layout)
    assert torch.equal(quantize_workspace(luma[0], file.tables[0]).double(), file.luma)
    low, high = bin_interval(file.luma, file.tables[0])
    assert bool(((low <= luma[0]) & (luma[0] <= high)).all())
    if gray:
        assert chroma is None
    else:
        assert chroma is not None
        assert torch.equal(quantize_workspace(chroma[0], file.tables[1]).double(), file.chroma)


@settings(max_examples=15, deadline=None)
@given(
    sampling=st.sampled_from(SAMPLINGS),
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    seed=st.integers(0, 2**31 - 1),
)
def test_an_mcu_cut_to_the_images_edges_encodes_as_in_the_whole_image(sampling, height, width, seed):
    # what the MCU search rests on: an MCU's coefficients depend on its own pixels only, ragged borders included
    generator = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, (1, 3, height, width), generator=generator, dtype=torch.uint8)
    _, file = jpeg_round_trip(image, 90, sampling)
    mcu_rows, mcu_cols = file.layout.mcu
    row, col = (height - 1) // mcu_rows, (width - 1) // mcu_cols  # the last MCU, ragged where the size is
    cut = encode_like(image[..., row * mcu_rows : (row + 1) * mcu_rows, col * mcu_cols : (col + 1) * mcu_cols], file)
    luma = file.luma[..., row * mcu_rows : (row + 1) * mcu_rows, col * mcu_cols : (col + 1) * mcu_cols]
    assert torch.equal(cut.luma, luma)
    assert torch.equal(cut.chroma, file.chroma[..., row * 8 : (row + 1) * 8, col * 8 : (col + 1) * 8])


@settings(max_examples=50, deadline=None)
@given(step=st.integers(1, 255), values=st.lists(st.integers(-9000, 9000), min_size=64, max_size=64))
def test_bin_interval_is_exactly_the_values_that_quantize_to_a_coefficient(step, values):
    table = torch.full((8, 8), step)
    workspace = torch.tensor(values, dtype=torch.int64).view(8, 8)
    coefficients = quantize_workspace(workspace, table)
    low, high = bin_interval(coefficients, table)
    assert bool(((low <= workspace) & (workspace <= high)).all())
    assert torch.equal(quantize_workspace(low, table), coefficients)
    assert torch.equal(quantize_workspace(high, table), coefficients)
    assert not bool((quantize_workspace(low - 1, table) == coefficients).any())
    assert not bool((quantize_workspace(high + 1, table) == coefficients).any())


def test_integer_antecedent_reproduces_a_ragged_420_file_where_the_float_repair_did_not():
    # 40×56 at 4:2:0 and quality 90 ends in half MCUs at the right and the bottom; with the float repair alone
    # (before the exact search) this start kept 0.13 % of the coefficients wrong
    generator = torch.Generator().manual_seed(0)
    noise = torch.rand(1, 3, 6, 7, generator=generator, dtype=torch.float64)
    smooth = F.interpolate(noise, size=(40, 56), mode="bicubic", align_corners=False) * 200 + 30
    truth = smooth.round().clamp(0, 255).to(torch.uint8)
    decoded, file = jpeg_round_trip(truth, 90, (2, 2))

    def encode(image: torch.Tensor):
        return encode_like(image, file)

    start = (truth.double() + torch.randn(truth.shape, generator=generator, dtype=torch.float64) * 4).clamp(0, 255)
    rounded = project_consistent(start, file).round().to(torch.uint8)
    assert bool((mcu_mismatches(encode(rounded), file) > 0).any())
    image, found = integer_antecedent(start, file, encode, decoded)
    assert found.exact and agreement(encode(image), file).exact
    assert (image.double() - start).abs().mean() < 4


def _found_at(
    positions: torch.Tensor, found: torch.Tensor, exact: torch.Tensor
) -> dict[tuple[int, int], tuple[torch.Tensor, bool]]:
    """What the side-by-side search found, by MCU position: its pixels ``(1, C, r, c)`` and whether they are exact."""
    return {(row, col): (found[i : i + 1], bool(exact[i])) for i, (row, col) in enumerate(positions.tolist())}


@pytest.mark.parametrize("sampling", [(2, 2), (1, 2), None])
def test_search_mcus_takes_search_mcus_own_path_for_many_mcus_at_once(sampling, monkeypatch):
    """The MCUs searched side by side, full-size ones and those the bottom or the right edge cuts short (123 × 150:
    the last MCU row 11, 3 and 3 rows tall, the last column 6 wide), end where :func:`search_mcu` ends for each on its
    own (pixels and verdict, exact or not), and the exact ones are written back and encode exactly; the corner is
    left to :func:`search_mcu`. Batches of 5 MCUs, tiers scored 2 MCUs at a time, so several of each run."""
    monkeypatch.setattr(jpeg_search, "BATCH_MCUS", 5)
    monkeypatch.setattr(jpeg_search, "TIER_MCUS", 2)
    height, width = 123, 150
    generator = torch.Generator().manual_seed(1)
    channels = 1 if sampling is None else 3
    noise = torch.rand(1, channels, 7, 9, generator=generator, dtype=torch.float64)
    smooth = F.interpolate(noise, size=(height, width), mode="bicubic", align_corners=False) * 255
    truth = smooth.round().clamp(0, 255).to(torch.uint8)  # some of it saturated: MCUs the directed steps leave
    _, file = jpeg_round_trip(truth, 95, sampling or (1, 1))
    start = (truth.double() + torch.randn(truth.shape, generator=generator, dtype=torch.float64)).clamp(0, 255)
    rounded = project_consistent(start, file).round().to(torch.uint8)
    positions = (mcu_mismatches(encode_like(rounded, file), file) > 0).nonzero()
    mcu_rows, mcu_cols = file.layout.mcu
    whole_rows = (positions[:, 0] + 1) * mcu_rows <= height
    whole_cols = (positions[:, 1] + 1) * mcu_cols <= width
    groups = (
        (whole_rows & whole_cols, (mcu_rows, mcu_cols)),
        (~whole_rows & whole_cols, (height % mcu_rows, mcu_cols)),
        (whole_rows & ~whole_cols, (mcu_rows, width % mcu_cols)),
    )
    repaired = rounded.clone()
    checked, exact_at = set(), []
    for group, unit in groups:
        assert bool(group.any())
        searched = _found_at(
            positions[group], *jpeg_search._search_side_by_side(repaired, file, positions[group], unit)
        )
        exact_at += [position for position, (_, exact) in searched.items() if exact]
        for index, ((row, col), (pixels, exact)) in enumerate(searched.items()):
            if index % max(1, len(searched) // 10) and exact:  # every inexact one, and ten, against the search itself
                continue
            luma, chroma = jpeg_search._mcu_targets(file, row, col)
            alone, alone_exact = search_mcu(_mcu(rounded, file, row, col), luma, chroma, file.tables, file.layout)
            assert pixels.shape == alone.shape and alone_exact == exact and torch.equal(pixels, alone)
            assert torch.equal(_mcu(repaired, file, row, col), pixels if exact else _mcu(rounded, file, row, col))
            checked.add(unit)
    assert checked == {unit for _, unit in groups}
    still_wrong = mcu_mismatches(encode_like(repaired, file), file) > 0
    assert exact_at and not any(bool(still_wrong[position]) for position in exact_at)


@pytest.mark.parametrize(("sampling", "size", "seed"), [(None, (24, 64), 2), ((2, 2), (16, 48), 11)])
def test_search_mcus_fails_and_kicks_as_search_mcu_does(sampling, size, seed, monkeypatch):
    """At quality 98 on a saturated picture the search runs out of moves: MCUs that take kicks (their own random
    shakes) and end inexact take :func:`search_mcu`'s own path side by side, every one of them checked (gray: 21
    MCUs, 15 kicks, two inexact; 4:2:0: 3 MCUs, 5 kicks, two inexact; tiers scored 2 MCUs at a time)."""
    monkeypatch.setattr(jpeg_search, "TIER_MCUS", 2)
    generator = torch.Generator().manual_seed(seed)
    channels = 1 if sampling is None else 3
    noise = torch.rand(1, channels, 3, 4, generator=generator, dtype=torch.float64)
    smooth = F.interpolate(noise, size=size, mode="bicubic", align_corners=False) * 400 - 72
    truth = smooth.round().clamp(0, 255).to(torch.uint8)
    _, file = jpeg_round_trip(truth, 98, sampling or (1, 1))
    start = (truth.double() + torch.randn(truth.shape, generator=generator, dtype=torch.float64)).clamp(0, 255)
    rounded = project_consistent(start, file).round().to(torch.uint8)
    positions = (mcu_mismatches(encode_like(rounded, file), file) > 0).nonzero()
    found = jpeg_search._search_side_by_side(rounded.clone(), file, positions, file.layout.mcu)
    searched = _found_at(positions, *found)
    assert len(searched) == len(positions) and not all(exact for _, exact in searched.values())
    for (row, col), (pixels, exact) in searched.items():
        luma, chroma = jpeg_search._mcu_targets(file, row, col)
        alone, alone_exact = search_mcu(_mcu(rounded, file, row, col), luma, chroma, file.tables, file.layout)
        assert alone_exact == exact and torch.equal(pixels, alone)


def _ragged_420_start() -> tuple[torch.Tensor, JpegCoefficients]:
    """A smooth 40 × 56 image at 4:2:0 and quality 95 (3 × 4 MCUs, the last row and column ragged), noised by 1 level
    and projected and rounded: every MCU misses some coefficient; the directed steps make MCUs (0..1, 0..2) exact."""
    generator = torch.Generator().manual_seed(1)
    noise = torch.rand(1, 3, 5, 6, generator=generator, dtype=torch.float64)
    smooth = F.interpolate(noise, size=(40, 56), mode="bicubic", align_corners=False) * 200 + 30
    truth = smooth.round().clamp(0, 255).to(torch.uint8)
    _, file = jpeg_round_trip(truth, 95, (2, 2))
    start = (truth.double() + torch.randn(truth.shape, generator=generator, dtype=torch.float64)).clamp(0, 255)
    return project_consistent(start, file).round().to(torch.uint8), file


def _mcu(image: torch.Tensor, file: JpegCoefficients, row: int, col: int) -> torch.Tensor:
    rows, cols = file.layout.mcu
    return image[..., row * rows : (row + 1) * rows, col * cols : (col + 1) * cols]


def test_exact_repair_replaces_each_wrong_mcu_by_its_search_and_leaves_the_others():
    """Full-size MCUs come from the side-by-side search, ragged ones from :func:`search_mcu` on their own pixels;
    an MCU not marked wrong is left as it was, even where its encoding misses (here (1, 1))."""
    rounded, file = _ragged_420_start()
    wrong = mcu_mismatches(encode_like(rounded, file), file) > 0
    assert bool(wrong.all())
    wrong[1, 1] = False
    positions = wrong.nonzero()
    mcu_rows, mcu_cols = file.layout.mcu
    height, width = rounded.shape[-2:]
    full = positions[((positions[:, 0] + 1) * mcu_rows <= height) & ((positions[:, 1] + 1) * mcu_cols <= width)]
    searched = _found_at(full, *jpeg_search._search_side_by_side(rounded.clone(), file, full, file.layout.mcu))
    assert {(0, 0), (0, 2), (1, 2)} <= {position for position, (_, exact) in searched.items() if exact}
    repaired = jpeg_search.exact_repair(rounded, file, wrong)
    assert torch.equal(_mcu(repaired, file, 1, 1), _mcu(rounded, file, 1, 1))
    for row, col in positions.tolist():
        if (row, col) in searched and searched[(row, col)][1]:
            assert torch.equal(_mcu(repaired, file, row, col), searched[(row, col)][0])
            continue
        luma, chroma = jpeg_search._mcu_targets(file, row, col)
        alone, exact = search_mcu(_mcu(rounded, file, row, col), luma, chroma, file.tables, file.layout)
        assert exact and torch.equal(_mcu(repaired, file, row, col), alone)
    still_wrong = mcu_mismatches(encode_like(repaired, file), file) > 0
    assert torch.equal(still_wrong, ~wrong)


@pytest.mark.parametrize("second_exact", [True, False])
def test_exact_repair_searches_again_from_the_float_start_where_its_own_pixels_fail(second_exact, monkeypatch):
    """An MCU whose search from its own pixels is not exact is searched again from :func:`float_start` of them (the
    ragged MCU's own size, 8 × 8 at the bottom right); it is replaced only if that search is exact."""
    rounded, file = _ragged_420_start()
    wrong = torch.zeros(3, 4, dtype=torch.bool)
    wrong[2, 3] = True
    starts: list[torch.Tensor] = []
    results: list[torch.Tensor] = []

    def search(pixels, luma, chroma, tables, layout):
        found, exact = search_mcu(pixels, luma, chroma, tables, layout)
        starts.append(pixels.clone())
        results.append(found)
        return found, exact and len(starts) == 2 and second_exact

    monkeypatch.setattr(jpeg_search, "search_mcu", search)
    repaired = jpeg_search.exact_repair(rounded, file, wrong)
    pixels = _mcu(rounded, file, 2, 3)
    assert len(starts) == 2 and pixels.shape[-2:] == (8, 8)
    luma, chroma = jpeg_search._mcu_targets(file, 2, 3)
    assert torch.equal(starts[1], float_start(pixels, JpegCoefficients(luma, chroma, file.tables, file.layout, (8, 8))))
    expected = rounded.clone()
    if second_exact:
        _mcu(expected, file, 2, 3).copy_(results[1])
    assert torch.equal(repaired, expected)


@pytest.mark.parametrize(("sampling", "size"), [((2, 2), (16, 16)), ((1, 2), (8, 13)), ((1, 1), (5, 8))])
def test_float_start_is_adam_on_the_squared_distance_outside_the_bins_core(sampling, size):
    """:func:`float_start` is ``torch.optim.Adam`` (rate ½, its default moments) on ``Σ max(0, |c − file| − ¼)²``
    over the float model's coefficients, the pixels clipped to [0, 255] after every step, then rounded: a noisy
    MCU (some values clipped, ragged 8 × 13 and 5 × 8 padded as libjpeg does) against a torch reference."""
    generator = torch.Generator().manual_seed(0)
    noise = torch.rand(1, 3, 3, 3, generator=generator, dtype=torch.float64)
    smooth = F.interpolate(noise, size=size, mode="bicubic", align_corners=False) * 200 + 30
    truth = smooth.round().clamp(0, 255).to(torch.uint8)
    _, file = jpeg_round_trip(truth, 90, sampling)
    noisy = truth.double() + torch.randn(truth.shape, generator=generator, dtype=torch.float64) * 40
    start = noisy.round().clamp(0, 255).to(torch.uint8)
    y = start.double().requires_grad_(True)
    adam = torch.optim.Adam([y], lr=0.5)
    for _ in range(100):
        adam.zero_grad()
        luma, chroma = dct_coefficients(y, file.tables, file.layout)
        assert chroma is not None and file.chroma is not None
        outside = ((luma - file.luma).abs() - 0.25).clamp(min=0) ** 2
        (outside.sum() + (((chroma - file.chroma).abs() - 0.25).clamp(min=0) ** 2).sum()).backward()
        adam.step()
        with torch.no_grad():
            y.clamp_(0, 255)
    moved = float_start(start, file)
    assert moved.dtype == torch.uint8 and bool(((y == 0) | (y == 255)).any())
    assert torch.equal(moved, y.detach().round().to(torch.uint8))
    assert (moved.double() - start.double()).abs().max() > 20


def test_strip_violation_scores_each_mcu_of_a_strip_and_masks_those_out_of_range():
    """Two gray MCUs side by side: an MCU with a value below 0 or above 255 scores the int64 maximum, whatever its
    distance; one within [0, 255], its ends included, scores its own ``V`` (:func:`search_mcu`'s, MCU by MCU)."""
    generator = torch.Generator().manual_seed(2)
    image = torch.randint(0, 256, (1, 1, 8, 16), generator=generator, dtype=torch.uint8)
    _, file = jpeg_round_trip(image, 90, (1, 1))
    bins = [bin_interval(file.luma, file.tables[0])]
    candidates = torch.randint(0, 256, (2, 1, 8, 16), generator=generator)
    candidates[0, 0, 0, 3], candidates[1, 0, 7, 7] = -1, 256
    candidates[0, 0, 2, 9], candidates[0, 0, 5, 12], candidates[1, 0, 0, 8], candidates[1, 0, 4, 15] = 0, 255, 255, 0
    scores = jpeg_search._strip_violation(candidates, bins, file.layout, 2)
    assert scores.dtype == torch.int64 and scores.shape == (2, 2)
    assert scores[:, 0].tolist() == [torch.iinfo(torch.int64).max] * 2
    low, high = bin_interval(file.luma[..., 8:], file.tables[0])
    workspace = libjpeg_workspace(candidates[..., 8:], file.layout)[0]
    alone = ((low - workspace).clamp(min=0) + (workspace - high).clamp(min=0)).flatten(1).sum(1)
    assert bool((alone > 0).all()) and torch.equal(scores[:, 1], alone)
