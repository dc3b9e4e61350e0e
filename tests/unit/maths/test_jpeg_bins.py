"""The JPEG operator's numbers worked by hand: quality tables against libjpeg's, block counts, where the projection
puts a coefficient (bin edges, margin, its cap at 0.4 of a step), the clip to [0, 255], decoding ragged sizes, the
padding's adjoint, per-MCU counts of gray files, the feedback step and the row repair's bookkeeping."""

from __future__ import annotations

import math

import pytest
import torch

from srcli.io.jpeg_files import jpeg_round_trip
from srcli.maths.jpeg import (
    Agreement,
    JpegCoefficients,
    JpegLayout,
    Smoothness,
    _coefficient_rows,
    _mcu_rows,
    agreement,
    block_dct,
    box_target,
    dct_coefficients,
    decode,
    feedback_step,
    fold_padding,
    mcu_mismatches,
    project_consistent,
    project_to_bins,
    quality_tables,
    quantize_coefficients,
    repair_rows,
    smooth_to_bins,
)

GRAY = JpegLayout(gray=True)


def _basis(row: int, col: int) -> torch.Tensor:
    """The 8×8 orthonormal DCT basis image of coefficient ``(row, col)``, from the cosine formula."""

    def a(k: int, n: int) -> float:
        return math.sqrt(1 / 8) if k == 0 else math.sqrt(2 / 8) * math.cos((2 * n + 1) * k * math.pi / 16)

    return torch.tensor([[a(row, y) * a(col, x) for x in range(8)] for y in range(8)], dtype=torch.float64)


def _block(values: dict[tuple[int, int], float]) -> torch.Tensor:
    """128 plus the given DCT-unit coefficients, one 8×8 block."""
    return 128 + sum((v * _basis(r, c) for (r, c), v in values.items()), torch.zeros(8, 8, dtype=torch.float64))


def test_quality_tables_are_libjpegs_at_every_quality():
    image = torch.randint(0, 256, (1, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    for quality in range(1, 101):
        _, file = jpeg_round_trip(image, quality, (2, 2))  # the tables libjpeg itself wrote into the file
        tables = quality_tables(quality)
        assert tables.dtype == torch.float64
        assert torch.equal(tables, file.tables), quality
    assert bool((quality_tables(1) == 255).all())
    for quality in (0, 101):
        with pytest.raises(ValueError, match=r"1\.\.100, got " + str(quality)):
            quality_tables(quality)


def test_block_counts_of_ragged_sizes():
    assert JpegLayout((2, 2)).luma_blocks(20, 35) == (3, 5)
    assert JpegLayout((2, 2)).chroma_blocks(20, 35) == (2, 3)  # ⌈10/8⌉, ⌈18/8⌉
    assert JpegLayout((1, 2)).chroma_blocks(17, 33) == (3, 3)  # ⌈17/8⌉, ⌈17/8⌉
    assert JpegLayout((1, 1)).chroma_blocks(9, 16) == (2, 2)
    assert GRAY.luma_blocks(1, 9) == (1, 2) and GRAY.mcu == (8, 8)


def _gray_file(luma: torch.Tensor, luma_table: torch.Tensor, size: tuple[int, int]) -> JpegCoefficients:
    tables = torch.stack((luma_table, torch.full((8, 8), 99.0, dtype=torch.float64)))
    return JpegCoefficients(luma, None, tables, GRAY, size)


def _bins_case() -> tuple[torch.Tensor, JpegCoefficients, dict[float, torch.Tensor]]:
    """An 8×16 gray guess and a file whose coefficients are 0 except a DC of 2 in the first block; steps of 16,
    one of 2 at (4, 4); the projections worked out by hand for margins 1.5 and 0."""
    table = torch.full((8, 8), 16.0, dtype=torch.float64)
    table[4, 4] = 2
    luma = torch.zeros(1, 8, 16, dtype=torch.float64)
    luma[0, 0, 0] = 2
    guess = torch.cat((_block({(0, 1): 40, (3, 5): -40, (2, 2): 3, (4, 4): 5}), _block({(0, 0): 100})), -1)
    # bins (c ∓ ½)·16 ± m: DC of 2 in [24 + m, 40 − m], the zeros in ±(8 − m); at (4, 4) the margin is capped at
    # 0.4 · 2 = 0.8, the bin ±(1 − min(m, 0.8)); 3 is inside and stays
    expected = {
        margin: torch.cat(
            (
                _block({(0, 0): 24 + margin, (0, 1): 8 - margin, (3, 5): margin - 8, (2, 2): 3, (4, 4): 1 - cap}),
                _block({(0, 0): 8 - margin}),
            ),
            -1,
        )
        for margin, cap in ((1.5, 0.8), (0.0, 0.0))
    }
    return guess[None, None], _gray_file(luma, table, (8, 16)), expected


def test_projection_clips_each_coefficient_to_its_bin_less_the_margin():
    guess, file, expected = _bins_case()
    assert torch.allclose(project_to_bins(guess, file), expected[1.5], atol=1e-9)
    for margin in (1.5, 0.0):
        assert torch.allclose(project_to_bins(guess, file, margin), expected[margin], atol=1e-9)
        assert torch.allclose(project_consistent(guess, file, margin), expected[margin], atol=1e-9)
        assert torch.allclose(smooth_to_bins(guess, file, Smoothness(), margin), expected[margin], atol=1e-9)
        assert torch.allclose(box_target(guess / 255, file, margin) * 255, expected[margin], atol=1e-9)
    assert torch.allclose(box_target(guess / 255, file) * 255, expected[1.5], atol=1e-9)


def test_projection_of_a_batch_uses_each_files_tables():
    guess, file, expected = _bins_case()
    wide = file.tables.clone()
    wide[0] *= 2  # steps of 32, 4 at (4, 4): the margin is not capped there (0.4 · 4 > 1.5)
    batch = JpegCoefficients(
        torch.stack((file.luma, file.luma)), None, torch.stack((file.tables, wide)), GRAY, file.size
    )
    second = torch.cat(
        (
            _block({(0, 0): 48 + 1.5, (0, 1): 16 - 1.5, (3, 5): 1.5 - 16, (2, 2): 3, (4, 4): 2 - 1.5}),
            _block({(0, 0): 16 - 1.5}),
        ),
        -1,
    )
    projected = box_target(torch.cat((guess, guess)) / 255, batch) * 255
    assert projected.shape == (2, 1, 8, 16)
    assert torch.allclose(projected[0, 0], expected[1.5], atol=1e-9)
    assert torch.allclose(projected[1, 0], second, atol=1e-9)
    luma, chroma = dct_coefficients(torch.full((2, 1, 8, 8), 136.0, dtype=torch.float64), batch.tables, GRAY)
    assert chroma is None and luma.shape == (2, 1, 8, 8)
    assert luma[:, 0, 0, 0].tolist() == pytest.approx([64 / 16, 64 / 32])  # DC 8 · 8


def test_block_dct_of_float32_and_of_a_batch():
    flat = torch.stack((torch.ones(1, 8, 8), 2 * torch.ones(1, 8, 8)))
    coefficients = block_dct(flat)
    assert coefficients.dtype == torch.float32 and coefficients.shape == (2, 1, 8, 8)
    assert coefficients[:, 0, 0, 0].tolist() == pytest.approx([8.0, 16.0])
    assert float(coefficients[..., 1:].abs().max()) < 1e-5


def test_clip_to_the_range_after_the_projection():
    table = torch.full((8, 8), 16.0, dtype=torch.float64)
    black, white = torch.zeros(1, 8, 8, dtype=torch.float64), torch.zeros(1, 8, 8, dtype=torch.float64)
    black[0, 0, 0], white[0, 0, 0] = -64, 64  # (0 − 128) · 8 / 16, and (255 − 128) · 8 / 16 = 63.5 rounded to even
    below = torch.full((1, 1, 8, 8), -5.0, dtype=torch.float64)
    # the projection moves the DC to −64.5 · 16 + 1.5: every pixel −0.8125, clipped to 0; black is in its bins
    assert torch.allclose(project_to_bins(below, _gray_file(black, table, (8, 8))), below * 0 - 0.8125)
    assert torch.equal(project_consistent(below, _gray_file(black, table, (8, 8))), torch.zeros_like(below))
    above = torch.full((1, 1, 8, 8), 260.0, dtype=torch.float64)
    assert torch.equal(project_consistent(above, _gray_file(white, table, (8, 8))), torch.full_like(above, 255.0))


def test_decode_of_ragged_sizes_by_hand():
    table = torch.full((8, 8), 16.0, dtype=torch.float64)
    luma = torch.zeros(1, 16, 16, dtype=torch.float64)
    luma[0, ::8, ::8] = 2  # every block's DC: 128 + 2 · 16 / 8
    gray = decode(_gray_file(luma, table, (12, 10)))
    assert gray.shape == (1, 1, 12, 10) and torch.allclose(gray, torch.full_like(gray, 132.0))
    tables = torch.stack((table, torch.full((8, 8), 8.0, dtype=torch.float64)))
    luma = torch.zeros(1, 24, 16, dtype=torch.float64)
    luma[0, ::8, ::8] = 2
    chroma = torch.zeros(2, 16, 8, dtype=torch.float64)
    chroma[1, ::8, ::8] = 1  # Cr 128 + 8 / 8
    colour = decode(JpegCoefficients(luma, chroma, tables, JpegLayout((2, 2)), (20, 12)))
    assert colour.shape == (1, 3, 20, 12)
    for channel, value in enumerate((132 + 1.402, 132 - 0.714136286, 132.0)):  # JFIF: R = Y + 1.402 (Cr − 128)
        assert torch.allclose(colour[0, channel], torch.full((20, 12), value, dtype=torch.float64))


def test_fold_padding_sums_the_copies_of_each_edge_pixel():
    change = torch.arange(12, dtype=torch.float64).view(1, 1, 3, 4)
    assert fold_padding(change, 2, 3).tolist() == [[[[0.0, 1.0, 5.0], [12.0, 14.0, 34.0]]]]
    assert fold_padding(change, 3, 4).tolist() == change.tolist()


def test_mcu_counts_of_a_gray_file():
    image = torch.rand(1, 1, 20, 12, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 255
    file = quantize_coefficients(image, quality_tables(50), GRAY)
    wrong = JpegCoefficients(file.luma.clone(), None, file.tables, GRAY, file.size)
    wrong.luma[0, 17, 9] += 1  # block (2, 1): 8×8 MCUs
    assert mcu_mismatches(wrong, file).tolist() == [[0, 0], [0, 0], [0, 1]]
    assert agreement(wrong, file) == Agreement(24 * 16 - 1, 24 * 16, 5, 6)


def test_feedback_step_moves_each_wrong_coefficient_a_quarter_step_inside():
    # a flat image (all coefficients 0); the coefficients the encoder got wrong go to wanted − ¼ sign(got − wanted)
    tables = torch.stack((torch.full((8, 8), 16.0), torch.full((8, 8), 8.0))).double()
    wanted = torch.zeros(1, 8, 16, dtype=torch.float64)
    wanted[0, 0, 1] = -3
    got = wanted.clone()
    got[0, 0, 1] = -2  # fell out above: to −3.25
    got[0, 2, 11] = -1  # fell out below a 0: to 0.25
    start = torch.cat((_block({(0, 1): -16}), _block({})), -1)[None, None]  # (0, 1) now −1: where it starts
    target = JpegCoefficients(wanted, None, tables, GRAY, (8, 16))
    moved = feedback_step(
        start,
        JpegCoefficients(got, None, tables, GRAY, (8, 16)),
        target,
    )
    luma, _ = dct_coefficients(moved, tables, GRAY)
    expected = torch.zeros_like(wanted)
    expected[0, 0, 1], expected[0, 2, 11] = -3.25, 0.25
    assert torch.allclose(luma[0], expected, atol=1e-9)
    assert torch.allclose(feedback_step(moved, target, target), moved)  # nothing wrong: nothing moves

    layout = JpegLayout((2, 2))
    luma_wanted, chroma_wanted = torch.zeros(1, 16, 16).double(), torch.zeros(2, 8, 8).double()
    chroma_wanted[1, 0, 2] = 1
    luma_got, chroma_got = luma_wanted.clone(), chroma_wanted.clone()
    luma_got[0, 9, 9], chroma_got[1, 0, 2] = -1, 2
    target = JpegCoefficients(luma_wanted, chroma_wanted, tables, layout, (16, 16))
    encoded = JpegCoefficients(luma_got, chroma_got, tables, layout, (16, 16))
    luma, chroma = dct_coefficients(
        feedback_step(torch.full((1, 3, 16, 16), 128.0).double(), encoded, target), tables, layout
    )
    luma_expected, chroma_expected = torch.zeros_like(luma_wanted), torch.zeros_like(chroma_wanted)
    luma_expected[0, 9, 9], chroma_expected[1, 0, 2] = 0.25, 0.75
    assert torch.allclose(luma[0], luma_expected, atol=1e-9)
    assert torch.allclose(chroma[0], chroma_expected, atol=1e-9)


def test_feedback_step_at_a_ragged_border_folds_the_padding_onto_the_edge():
    # 18×18 gray: the third block row codes rows 16–23, of which 16 and 17 are real; row 17 stands for rows 17–23
    tables = torch.stack((torch.full((8, 8), 16.0), torch.full((8, 8), 8.0))).double()
    wanted = torch.zeros(1, 24, 24, dtype=torch.float64)
    got = wanted.clone()
    got[0, 16, 1] = 1  # to −0.25: −4 DCT units of the basis (0, 1), constant down the block
    got[0, 17, 16] = 1  # block (2, 2), basis (1, 0): columns 17–23 folded onto column 17 too
    target = JpegCoefficients(wanted, None, tables, GRAY, (18, 18))
    image = torch.full((1, 1, 18, 18), 128.0, dtype=torch.float64)
    moved = feedback_step(image, JpegCoefficients(got, None, tables, GRAY, (18, 18)), target)
    expected = image.clone()
    expected[0, 0, 16, :8] += -4 * _basis(0, 1)[0]
    expected[0, 0, 17, :8] += 7 * -4 * _basis(0, 1)[0]
    corner = -4 * _basis(1, 0)
    expected[0, 0, 16, 16:] += torch.stack((corner[0, 0], corner[0, 1:].sum()))
    expected[0, 0, 17, 16:] += torch.stack((corner[1:, 0].sum(), corner[1:, 1:].sum()))
    assert torch.allclose(moved, expected, atol=1e-9)


def test_rows_of_mcus_and_their_coefficients_for_422_and_gray():
    layout = JpegLayout((1, 2))  # 8×16 MCUs
    image = torch.arange(20, dtype=torch.float64).view(1, 1, 20, 1).expand(1, 3, 20, 40)
    assert _mcu_rows(image, [0, 2], layout)[0, 0, :, 0].tolist() == [*range(8), *range(16, 20)]
    file = quantize_coefficients(image, quality_tables(90), layout)
    rows = _coefficient_rows(file, [0, 2])
    assert rows.size == (12, 40)
    assert torch.equal(rows.luma, torch.cat((file.luma[:, :8], file.luma[:, 16:24]), 1))
    assert torch.equal(rows.chroma, torch.cat((file.chroma[:, :8], file.chroma[:, 16:24]), 1))
    gray = quantize_coefficients(image[:, :1, :, :8], quality_tables(90), GRAY)
    last = _coefficient_rows(gray, [2])
    assert last.size == (4, 8) and torch.equal(last.luma, gray.luma[:, 16:24])
    assert _mcu_rows(image[:, :1], [2], GRAY)[0, 0, :, 0].tolist() == [16, 17, 18, 19]


def test_repair_rows_takes_the_fallbacks_mcus_where_they_encode_closer():
    # no repair rounds: only the fallback (here the truth) is tried, per MCU; 4:2:2, ragged last MCU row, not square
    layout, tables = JpegLayout((1, 2)), quality_tables(80)

    def encode(image: torch.Tensor) -> JpegCoefficients:
        return quantize_coefficients(image.double(), tables, layout)

    truth = torch.randint(0, 256, (1, 3, 20, 40), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    target = encode(truth)
    best = truth.clone()
    best[..., 16:20, 16:32] = 255 - best[..., 16:20, 16:32]  # MCU (2, 1), 4 real rows
    best[..., 0:8, 0:16] = 255 - best[..., 0:8, 0:16]  # MCU (0, 0)
    best[..., 8:16, 32:40] = 255 - best[..., 8:16, 32:40]  # MCU (1, 2): every MCU row has one wrong
    assert bool((mcu_mismatches(encode(best), target) > 0).any(1).all())
    repaired = repair_rows(truth.double(), best, target, encode, truth, rounds=0, explore=0)
    assert torch.equal(repaired, truth)
    assert torch.equal(repair_rows(truth.double(), best, target, encode, None, rounds=0, explore=0), best)
    assert torch.equal(repair_rows(truth.double(), truth, target, encode, best, rounds=0, explore=0), truth)


def test_repair_rows_reads_the_rows_to_repair_from_the_encoding_it_is_given():
    # an encoding that says every row is right: nothing is repaired, and the encoder is never called
    layout, tables = JpegLayout((1, 2)), quality_tables(80)
    truth = torch.randint(0, 256, (1, 3, 16, 32), generator=torch.Generator().manual_seed(2), dtype=torch.uint8)
    target = quantize_coefficients(truth.double(), tables, layout)
    wrong = 255 - truth

    def encode(image: torch.Tensor) -> JpegCoefficients:
        raise AssertionError("the encoding was given")

    assert torch.equal(repair_rows(truth.double(), wrong, target, encode, truth, encoded=target), wrong)


def test_integer_antecedent_hands_the_mcus_the_search_leaves_to_the_row_repair(monkeypatch):
    # an encoder whose arithmetic is not the model's (it sees every pixel 3 levels brighter) and a search that fixes
    # nothing: the rows the encoder still rejects are repaired, the file's own pixels the last candidate
    from srcli.maths import jpeg_search

    layout, tables = JpegLayout((2, 2)), quality_tables(90)

    def encode(image: torch.Tensor) -> JpegCoefficients:
        return quantize_coefficients(image.double() + 3, tables, layout)

    truth = torch.randint(0, 256, (1, 3, 32, 32), generator=torch.Generator().manual_seed(3), dtype=torch.uint8)
    target = encode(truth)
    monkeypatch.setattr(jpeg_search, "exact_repair", lambda image, target, wrong: image)
    far = (truth.double() + 20).clamp(0, 255)
    lr, found = jpeg_search.integer_antecedent(far, target, encode, fallback=truth)
    assert found.exact and bool((mcu_mismatches(encode(lr), target) == 0).all())
