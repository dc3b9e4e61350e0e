"""libjpeg's integer encoder in torch, against Pillow's libjpeg; the exact MCU search that uses it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from srcli.io.jpeg_files import encode_like, jpeg_round_trip
from srcli.maths import jpeg_search
from srcli.maths.jpeg import agreement, mcu_mismatches, project_consistent
from srcli.maths.jpeg_search import directed_steps, integer_antecedent, search_mcu
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


@pytest.mark.parametrize("sampling", [(2, 2), (1, 2), None])
def test_directed_steps_take_search_mcus_steps_for_many_mcus_at_once(sampling, monkeypatch):
    """Every MCU the batched directed steps return is the one :func:`search_mcu` returns for it, and exact by the
    real encoder; ragged border MCUs (120 × 150 ends in part MCUs) are left to the search. Batches of 5 MCUs, so
    several batches run."""
    monkeypatch.setattr(jpeg_search, "BATCH_MCUS", 5)
    generator = torch.Generator().manual_seed(1)
    channels = 1 if sampling is None else 3
    noise = torch.rand(1, channels, 7, 9, generator=generator, dtype=torch.float64)
    smooth = F.interpolate(noise, size=(120, 150), mode="bicubic", align_corners=False) * 200 + 30
    truth = smooth.round().clamp(0, 255).to(torch.uint8)
    _, file = jpeg_round_trip(truth, 95, sampling or (1, 1))
    start = (truth.double() + torch.randn(truth.shape, generator=generator, dtype=torch.float64)).clamp(0, 255)
    rounded = project_consistent(start, file).round().to(torch.uint8)
    wrong = mcu_mismatches(encode_like(rounded, file), file) > 0
    positions = [(row, col) for row, col in wrong.nonzero().tolist()]
    found = directed_steps(rounded, file, positions)
    mcu_rows, mcu_cols = file.layout.mcu
    assert len(found) >= 5
    ragged = [(row, col) for row, col in positions if (row + 1) * mcu_rows > 120 or (col + 1) * mcu_cols > 150]
    assert ragged and not set(ragged) & set(found)
    repaired = rounded.clone()
    for (row, col), pixels in found.items():
        rows, cols = slice(row * mcu_rows, (row + 1) * mcu_rows), slice(col * mcu_cols, (col + 1) * mcu_cols)
        luma, chroma = jpeg_search._mcu_targets(file, row, col)
        searched, exact = search_mcu(rounded[..., rows, cols], luma, chroma, file.tables, file.layout)
        assert exact and torch.equal(pixels, searched)
        repaired[..., rows, cols] = pixels
    still_wrong = mcu_mismatches(encode_like(repaired, file), file) > 0
    assert not any(bool(still_wrong[row, col]) for row, col in found)
