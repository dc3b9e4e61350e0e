"""The JPEG operator: which LR images a JPEG file's coefficients admit, and the projection onto them.

A baseline JPEG stores integer coefficients ``c = round(D(T(z) − 128) / Q)``: ``z`` the ``(h, w)`` RGB (or
gray) image in [0, 255], ``T`` the JFIF colour conversion to YCbCr with the chroma averaged over the file's
sampling block (4:4:4, 4:2:2, 4:2:0), ``D`` the orthonormal 8×8 DCT, ``Q`` the quantization tables. The
image is padded to whole MCUs as libjpeg pads it (:func:`_planes`). Every ``z`` whose
coefficients round to ``c`` is an equally valid antecedent of the file, so the data-consistent set is a box
in DCT space:

    C = { z : (c − ½)·Q + m ≤ D(T(z) − 128) ≤ (c + ½)·Q − m }

with a margin ``m`` (DCT units) that absorbs libjpeg's integer colour conversion and islow DCT.
:func:`project_to_bins` projects onto ``C``: the luma exactly (``D`` is orthonormal), the chroma by clipping
the coefficients of its sampled plane and spreading the change over each sampling block (the smallest
change with that block mean), then back through ``T⁻¹``. :func:`srcli.maths.jpeg_search.integer_antecedent`
turns the result into an 8-bit image whose real encoding reproduces ``c``.

Tensors here are float64 ``(1, C, h, w)`` in [0, 255] (``C`` 3 or 1); coefficient planes are ``(k, H, W)``
with each 8×8 block of ``H×W`` holding one block's coefficients in natural order.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

LUMA_TABLE = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
"""The luma table of ITU T.81 Annex K at quality 50, natural order."""
CHROMA_TABLE = (
    (17, 18, 24, 47, 99, 99, 99, 99),
    (18, 21, 26, 66, 99, 99, 99, 99),
    (24, 26, 56, 99, 99, 99, 99, 99),
    (47, 66, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
)
"""The chroma table of ITU T.81 Annex K at quality 50, natural order."""

SAMPLINGS = {"4:4:4": (1, 1), "4:2:2": (1, 2), "4:2:0": (2, 2)}
"""Chroma sampling block ``(rows, columns)`` of each subsampling a JPEG file declares."""

MARGIN = 1.5
"""Default margin inside each bin, in DCT units (never more than 0.4 of the bin's width). libjpeg's integer colour
conversion and DCT differ from the float model by up to about 2 units (measured at quality 100); on BSD68 and
Set14 ×4, 1.5 against 0.75 left as many files with a wrong coefficient, moved PSNR-Y by +0.00 to +0.02 dB, and
halved the repair's time."""


def quality_tables(quality: int) -> torch.Tensor:
    """``(2, 8, 8)`` float64 luma and chroma tables that libjpeg (and Pillow) use at ``quality`` 1–100.

    Example:
        >>> tables = quality_tables(50)
        >>> int(tables[0, 0, 0]), int(tables[1, 7, 7]), int(quality_tables(100).max())
        (16, 99, 1)
    """
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    factor = 5000 // quality if quality < 50 else 200 - 2 * quality
    base = torch.tensor((LUMA_TABLE, CHROMA_TABLE), dtype=torch.float64)
    return torch.floor((base * factor + 50) / 100).clamp(1, 255)


@dataclass(frozen=True)
class JpegLayout:
    """How a file samples its planes: ``sampling`` is the chroma block ``(rows, cols)``; ``gray`` files have luma
    only. ``mcu`` is the pixel size of one minimum coded unit."""

    sampling: tuple[int, int] = (2, 2)
    gray: bool = False

    @property
    def sample_block(self) -> tuple[int, int]:
        """The pixels ``(rows, cols)`` one chroma sample stands for (one pixel in a gray file): also the luma
        blocks of an MCU."""
        return (1, 1) if self.gray else self.sampling

    @property
    def mcu(self) -> tuple[int, int]:
        rows, cols = self.sample_block
        return 8 * rows, 8 * cols

    def luma_blocks(self, height: int, width: int) -> tuple[int, int]:
        """Block rows and columns libjpeg codes for the luma of an ``height×width`` image."""
        return math.ceil(height / 8), math.ceil(width / 8)

    def chroma_blocks(self, height: int, width: int) -> tuple[int, int]:
        """Block rows and columns libjpeg codes for each chroma plane."""
        rows, cols = self.sampling
        return math.ceil(math.ceil(height / rows) / 8), math.ceil(math.ceil(width / cols) / 8)


@dataclass(frozen=True)
class JpegCoefficients:
    """What a JPEG file says about its image: its quantized coefficients and tables.

    ``luma`` is ``(1, 8·by, 8·bx)`` for the coded luma blocks, ``chroma`` ``(2, 8·cy, 8·cx)`` (``None`` for
    gray), ``tables`` ``(2, 8, 8)`` (luma, chroma), all float64 holding integers; ``size`` the image's
    ``(height, width)``. A batch of same-sized files sharing a layout has a leading ``N`` on every tensor.
    """

    luma: torch.Tensor
    chroma: torch.Tensor | None
    tables: torch.Tensor
    layout: JpegLayout
    size: tuple[int, int]


RGB_TO_YCBCR = (
    (0.299, 0.587, 0.114),
    (-0.168735892, -0.331264108, 0.5),
    (0.5, -0.418687589, -0.081312411),
)
"""JFIF's colour matrix (full-range BT.601); Cb and Cr are centred on 128."""
YCBCR_TO_RGB = ((1.0, 0.0, 1.402), (1.0, -0.344136286, -0.714136286), (1.0, 1.772, 0.0))
"""Its inverse, applied after removing the 128 offset of the chroma."""
CHROMA_OFFSET = (0.0, 128.0, 128.0)


def _colour(matrix: tuple[tuple[float, ...], ...], x: torch.Tensor) -> torch.Tensor:
    """``matrix`` (3×3) applied to the channels of ``(N, 3, H, W)``."""
    weights = torch.tensor(matrix, dtype=x.dtype, device=x.device)
    return torch.einsum("ij,njhw->nihw", weights, x)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """JFIF (full-range BT.601) ``(N, 3, H, W)`` RGB → YCbCr, both in [0, 255] (chroma centred on 128).

    Example:
        >>> [round(v, 3) for v in rgb_to_ycbcr(torch.tensor([255.0, 0, 0]).view(1, 3, 1, 1)).flatten().tolist()]
        [76.245, 84.972, 255.5]
    """
    offset = torch.tensor(CHROMA_OFFSET, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return _colour(RGB_TO_YCBCR, rgb) + offset


def ycbcr_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`rgb_to_ycbcr`.

    Example:
        >>> x = torch.rand(1, 3, 4, 4, dtype=torch.float64) * 255
        >>> bool((ycbcr_to_rgb(rgb_to_ycbcr(x)) - x).abs().max() < 1e-6)
        True
    """
    offset = torch.tensor(CHROMA_OFFSET, dtype=ycc.dtype, device=ycc.device).view(1, 3, 1, 1)
    return _colour(YCBCR_TO_RGB, ycc - offset)


@functools.lru_cache(maxsize=8)
def _dct_matrix(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    n = torch.arange(8, dtype=torch.float64)
    matrix = torch.cos((2 * n[None, :] + 1) * n[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    matrix[0] /= math.sqrt(2)
    return matrix.to(dtype=dtype, device=device)


def block_dct(planes: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """Orthonormal 8×8 DCT-II (JPEG's, the inverse with ``inverse``) of every block of ``(N, C, H, W)``, ``H`` and
    ``W`` multiples of 8; same shape out.

    Example:
        >>> x = torch.rand(2, 1, 16, 8, dtype=torch.float64)
        >>> bool((block_dct(block_dct(x), inverse=True) - x).abs().max() < 1e-12)
        True
        >>> round(float(block_dct(torch.ones(1, 1, 8, 8))[0, 0, 0, 0]), 4)  # the DC of a flat block: 8 × value
        8.0
    """
    n, c, h, w = planes.shape
    matrix = _dct_matrix(planes.dtype, planes.device)
    if inverse:
        matrix = matrix.T
    columns = matrix @ planes.reshape(n, c, h // 8, 8, w)  # the 8 rows of each block row
    return (columns.reshape(n, c, h, w // 8, 8) @ matrix.T).reshape(n, c, h, w)


def _tile_table(table: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(8, 8)`` → ``(height, width)`` (or ``(N, 8, 8)`` → ``(N, 1, height, width)``): the table over every block."""
    steps = table.repeat(*([1] * (table.dim() - 2)), height // 8, width // 8)
    return steps if steps.dim() == 2 else steps[:, None]


def pad_rows(planes: torch.Tensor, multiple: int) -> torch.Tensor:
    """Repeat the last row of ``(N, C, H, W)`` (any dtype) until ``H`` is a multiple of ``multiple``."""
    missing = -planes.shape[-2] % multiple
    return F.pad(planes, (0, 0, 0, missing), mode="replicate") if missing else planes


def pad_columns(planes: torch.Tensor, multiple: int) -> torch.Tensor:
    """Repeat the last column of ``(N, C, H, W)`` (any dtype) until ``W`` is a multiple of ``multiple``."""
    missing = -planes.shape[-1] % multiple
    return F.pad(planes, (0, missing, 0, 0), mode="replicate") if missing else planes


def fold_padding(change: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A change ``(N, C, H, W)`` of the MCU-padded image → ``(N, C, height, width)``: each edge pixel takes the sum
    of its copies' changes (the adjoint of the padding, the direction that moves the padded image's coefficients
    most).

    Example:
        >>> fold_padding(torch.tensor([[[[1.0, 3.0, 5.0]]]]), 1, 1)
        tensor([[[[9.]]]])
    """
    rows, cols = change.shape[-2:]
    if rows > height:
        change = torch.cat((change[..., : height - 1, :], change[..., height - 1 :, :].sum(-2, keepdim=True)), -2)
    if cols > width:
        change = torch.cat((change[..., : width - 1], change[..., width - 1 :].sum(-1, keepdim=True)), -1)
    return change


def _planes(z: torch.Tensor, layout: JpegLayout) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Level-shifted luma ``(N, 1, H, W)`` and sampled chroma ``(N, 2, H/r, W/c)`` of ``z`` ``(N, C, h, w)`` padded
    to whole MCUs as libjpeg pads: the last column repeated in the input (before sampling), the last row
    repeated in each sampled plane (after it), the input's own rows only to a multiple of the sampling block."""
    rows, cols = layout.mcu
    wide = pad_columns(z, cols)
    if layout.gray:
        return pad_rows(wide - 128, rows), None
    ycc = rgb_to_ycbcr(wide) - 128
    sampled = F.avg_pool2d(pad_rows(ycc[:, 1:], layout.sampling[0]), layout.sampling)
    return pad_rows(ycc[:, :1], rows), pad_rows(sampled, 8)


def _crop_blocks(plane: torch.Tensor, blocks: tuple[int, int]) -> torch.Tensor:
    return plane[..., : 8 * blocks[0], : 8 * blocks[1]]


def dct_coefficients(
    z: torch.Tensor, tables: torch.Tensor, layout: JpegLayout
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Unrounded coefficients ``D(T(z) − 128) / Q`` of the coded blocks of ``z`` ``(N, C, h, w)`` in [0, 255]:
    luma ``(N, 1, 8·by, 8·bx)`` and chroma ``(N, 2, 8·cy, 8·cx)`` (``None`` for gray).

    Example:
        >>> z = torch.full((1, 3, 16, 16), 128.0, dtype=torch.float64)
        >>> luma, chroma = dct_coefficients(z, quality_tables(75), JpegLayout())
        >>> tuple(luma.shape), tuple(chroma.shape), float(luma.abs().max()) < 1e-9
        ((1, 1, 16, 16), (1, 2, 8, 8), True)
    """
    h, w = z.shape[-2:]
    luma, chroma = _planes(z, layout)
    luma = _crop_blocks(block_dct(luma), layout.luma_blocks(h, w))
    luma = luma / _tile_table(tables[..., 0, :, :], *luma.shape[-2:])
    if chroma is None:
        return luma, None
    chroma = _crop_blocks(block_dct(chroma), layout.chroma_blocks(h, w))
    return luma, chroma / _tile_table(tables[..., 1, :, :], *chroma.shape[-2:])


def quantize_coefficients(z: torch.Tensor, tables: torch.Tensor, layout: JpegLayout) -> JpegCoefficients:
    """The coefficients a float encoder would store for ``(1, C, h, w)`` ``z``: :func:`dct_coefficients`
    rounded. libjpeg's integer arithmetic agrees on most but not all of them."""
    luma, chroma = dct_coefficients(z, tables, layout)
    size = (z.shape[-2], z.shape[-1])
    return JpegCoefficients(luma.round()[0], None if chroma is None else chroma.round()[0], tables, layout, size)


def decode(coefficients: JpegCoefficients) -> torch.Tensor:
    """The float image the coefficients describe, ``(1, C, h, w)`` unclipped: dequantize, inverse DCT, chroma
    replicated over its sampling block (a decoder's plain upsampling), YCbCr → RGB."""
    layout, tables = coefficients.layout, coefficients.tables
    h, w = coefficients.size
    rows, cols = layout.mcu
    ph, pw = h + -h % rows, w + -w % cols
    luma = coefficients.luma * _tile_table(tables[..., 0, :, :], *coefficients.luma.shape[-2:])
    luma = F.pad(block_dct(luma[None], inverse=True), (0, pw - luma.shape[-1], 0, ph - luma.shape[-2]))
    if coefficients.chroma is None:
        return (luma + 128)[..., :h, :w]
    chroma = coefficients.chroma * _tile_table(tables[..., 1, :, :], *coefficients.chroma.shape[-2:])
    chroma = block_dct(chroma[None], inverse=True)
    sr, sc = layout.sampling
    chroma = F.pad(chroma, (0, pw // sc - chroma.shape[-1], 0, ph // sr - chroma.shape[-2]))
    chroma = chroma.repeat_interleave(sr, -2).repeat_interleave(sc, -1)
    return ycbcr_to_rgb(torch.cat((luma, chroma), 1) + 128)[..., :h, :w]


def _bin_edges(target: torch.Tensor, table: torch.Tensor, margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The DCT-domain box of the coded blocks: ``(low, high)`` ``(k, h, w)``, ``margin`` units (at most 0.4 of a
    step) inside each edge of the bins of ``target`` ``(k, h, w)`` under ``table``."""
    steps = _tile_table(table, *target.shape[-2:])
    slack = steps.mul(0.4).clamp_(max=margin)
    return (target - 0.5) * steps + slack, (target + 0.5) * steps - slack


def _clip_correction(plane: torch.Tensor, edges: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """The spatial change that moves every coded block of ``plane`` ``(N, k, H, W)`` into the box ``edges``
    (:func:`_bin_edges`, ``(k, h, w)``, ``h ≤ H``)."""
    low, high = edges
    h, w = low.shape[-2:]
    coded = plane if plane.shape[-2:] == (h, w) else plane[..., :h, :w]
    values = block_dct(coded)
    change = block_dct(torch.minimum(torch.maximum(values, low), high).sub_(values), inverse=True)
    if coded is plane:
        return change
    correction = torch.zeros_like(plane)
    correction[..., :h, :w] = change
    return correction


def _apply_plane_changes(
    z: torch.Tensor, coefficients: JpegCoefficients, plane_change: Callable[..., torch.Tensor]
) -> torch.Tensor:
    """``z`` ``(N, C, h, w)`` plus the changes ``plane_change(plane, target, table, component)`` makes to its padded
    luma (``component`` 0) and sampled chroma (1) planes (:func:`_planes`), each chroma change spread over its
    sampling block (the smallest change with that block mean), brought back through the (affine) colour
    conversion; unclipped."""
    layout, tables = coefficients.layout, coefficients.tables
    h, w = z.shape[-2:]
    luma, chroma = _planes(z, layout)
    luma_change = plane_change(luma, coefficients.luma, tables[..., 0, :, :], 0)
    if chroma is None or coefficients.chroma is None:
        return z + luma_change[..., :h, :w]
    chroma_change = plane_change(chroma, coefficients.chroma, tables[..., 1, :, :], 1)
    rows, cols = layout.sampling
    chroma_change = chroma_change.repeat_interleave(rows, -2).repeat_interleave(cols, -1)
    ycc_change = torch.cat((luma_change, chroma_change), 1)[..., :h, :w]
    return z + _colour(YCBCR_TO_RGB, ycc_change)  # the conversion is affine: a YCbCr change is an RGB change


def project_to_bins(z: torch.Tensor, coefficients: JpegCoefficients, margin: float = MARGIN) -> torch.Tensor:
    """One projection of ``z`` ``(1, C, h, w)`` onto the images whose coefficients fall in the file's bins
    (``margin`` DCT units inside each edge), unclipped. Exact for MCU-aligned sizes; at a ragged border the
    padding copies pixels the projection moved independently; each edge pixel keeps its own change (measured
    closer to the bins after :func:`project_consistent`'s repetitions than the mean change of its copies).

    Example:
        >>> torch.manual_seed(0) and None
        >>> tables = quality_tables(40)
        >>> truth = torch.rand(1, 3, 16, 16, dtype=torch.float64) * 255
        >>> guess = torch.rand(1, 3, 16, 16, dtype=torch.float64) * 255
        >>> file = quantize_coefficients(truth, tables, JpegLayout())
        >>> luma, chroma = dct_coefficients(project_to_bins(guess, file), tables, JpegLayout())
        >>> bool((luma - file.luma).abs().max() <= 0.5) and bool((chroma - file.chroma).abs().max() <= 0.5)
        True
    """
    return _apply_plane_changes(z, coefficients, _clip_into(coefficients, margin))


def _clip_into(coefficients: JpegCoefficients, margin: float) -> Callable[..., torch.Tensor]:
    """The ``plane_change`` of :func:`_apply_plane_changes` that clips into ``coefficients``' bins (``margin``
    inside), their edges computed once for every call."""
    tables = coefficients.tables
    edges = [_bin_edges(coefficients.luma, tables[..., 0, :, :], margin)]
    if coefficients.chroma is not None:
        edges.append(_bin_edges(coefficients.chroma, tables[..., 1, :, :], margin))
    return lambda plane, target, table, component: _clip_correction(plane, edges[component])


CONSISTENT_ITERATIONS = 12
"""How many times :func:`project_consistent` projects at most. Saturated MCUs (a white page, a clipped sky) near the
edge of [0, 255] come closer to the bins' intersection with it slowly, and the MCU search
(:mod:`srcli.maths.jpeg_search`) pays for what is left; with :data:`SETTLED` the MCUs that have stopped moving stop
early. The integer LR of 8 Set5/Set14 512² pictures on one thread (best of 3), 6 rounds → 12 rounds → 12 with
:data:`SETTLED`: 0.96 → 0.67 → 0.51 s at q40 (the screenshot ppt3 0.57 → 0.22 → 0.17 s), 1.78 → 1.50 → 1.29 s at
q90; paired on the first 24 BSD68 images (6 rounds against 12 with :data:`SETTLED`), PSNR-Y +0.00001 ± 0.00002 dB
at q40 and +0.00018 ± 0.00015 at q90, every file exact."""


SETTLED = 0.05
"""Levels: a full-size MCU that a repeated projection moved by less than this is not projected again by
:func:`project_consistent` (further rounds move it by less still, far under a rounding step). Pictures that do not
saturate settle within the first 5–6 rounds (baby at q40: the largest move 0.33, 0.21, 0.13, … 0.007 levels in 11
rounds), a white page does not (ppt3: 4.8 … 0.74)."""


def project_consistent(
    z: torch.Tensor,
    coefficients: JpegCoefficients,
    margin: float = MARGIN,
    iterations: int = CONSISTENT_ITERATIONS,
    settled: float = SETTLED,
    in_bins: bool = False,
) -> torch.Tensor:
    """Alternate :func:`project_to_bins` with the clip to [0, 255] (at most ``iterations`` times): ``(1, C, h, w)``
    float64 in [0, 255], inside the bins up to what saturated pixels and ragged borders leave.

    Each MCU is coded from its own pixels, so after the first projection only the MCUs the clip changed are
    projected again (side by side), with the ragged border MCUs, whose padding copies pixels the projection moved
    independently: an MCU-aligned image the clip leaves alone is done after one projection. A full-size MCU the
    last round moved by less than ``settled`` levels is not projected again. ``in_bins``: ``z`` is a projection
    onto these bins (``margin`` inside) clipped to [0, 255] (:func:`smooth_to_bins`' output, clipped), so only its
    MCUs with a value at 0 or 255 (and ragged ones) are projected at all."""
    layout = coefficients.layout
    if in_bins:
        z, todo, rounds = z.clone(), _clipped_mcus(z, layout, inclusive=True), iterations
    else:
        projected = _apply_plane_changes(z, coefficients, _clip_into(coefficients, margin))
        z, todo, rounds = projected.clamp(0, 255), _clipped_mcus(projected, layout), iterations - 1
    for _ in range(rounds):
        full, ragged = _mcu_pieces(todo, layout, coefficients.size)
        if not full.numel() and not ragged:
            break
        todo = torch.zeros_like(todo)
        if full.numel():  # full-size MCUs, laid side by side as one strip
            sub = _mcus_file(coefficients, full)
            before = _gather_mcus(z, layout.mcu, full)
            projected = _apply_plane_changes(before, sub, _clip_into(sub, margin))
            clipped = _clipped_mcus(projected, layout)[0]
            projected.clamp_(0, 255)
            moved = (projected - before).abs().amax((0, 1, 2)).view(full.shape[0], -1).amax(1)
            todo[full[:, 0], full[:, 1]] = clipped & (moved >= settled)
            _scatter_mcus(z, layout.mcu, full, projected)
        for top, left, bottom, right in ragged:  # a ragged column or row of MCUs, whole
            sub = _rect_file(coefficients, top, left, bottom, right)
            rows, cols = _rect_pixels(top, left, bottom, right, layout, coefficients.size)
            projected = _apply_plane_changes(z[..., rows, cols], sub, _clip_into(sub, margin))
            todo[top:bottom, left:right] = _clipped_mcus(projected, layout)
            z[..., rows, cols] = projected.clamp_(0, 255)
    return z


Rect = tuple[int, int, int, int]
"""MCUs ``(top, left, bottom, right)`` of a file's MCU grid, the ends excluded."""


def _clipped_mcus(image: torch.Tensor, layout: JpegLayout, inclusive: bool = False) -> torch.Tensor:
    """Per MCU of ``(N, C, h, w)`` (the last row and column may be short), bool: a value outside [0, 255] (with
    ``inclusive``, or at 0 or 255: where a clip may have been)."""
    rows, cols = layout.mcu
    low, high = ((image <= 0), (image >= 255)) if inclusive else ((image < 0), (image > 255))
    outside = (low | high).flatten(0, 1).any(0).to(torch.uint8)
    outside = F.pad(outside, (0, -outside.shape[1] % cols, 0, -outside.shape[0] % rows))
    return outside.view(outside.shape[0] // rows, rows, -1, cols).any(3).any(1)


def _mcu_pieces(todo: torch.Tensor, layout: JpegLayout, size: tuple[int, int]) -> tuple[torch.Tensor, list[Rect]]:
    """What :func:`project_consistent` projects again: the full-size MCUs marked in ``todo`` ``(rows, cols)`` bool, as
    ``(k, 2)`` grid positions, and the last column of MCUs where the width is ragged and the last row where the
    height is, each a whole rectangle."""
    rows, cols = layout.mcu
    grid_rows, grid_cols = todo.shape
    ragged_rows, ragged_cols = size[0] % rows != 0, size[1] % cols != 0
    full = todo[: grid_rows - ragged_rows, : grid_cols - ragged_cols].nonzero()
    ragged = []
    if ragged_cols:
        ragged.append((0, grid_cols - 1, grid_rows, grid_cols))
    if ragged_rows and grid_cols > ragged_cols:
        ragged.append((grid_rows - 1, 0, grid_rows, grid_cols - ragged_cols))
    return full, ragged


def _rect_pixels(
    top: int, left: int, bottom: int, right: int, layout: JpegLayout, size: tuple[int, int]
) -> tuple[slice, slice]:
    """The pixel rows and columns (slices) of an MCU rectangle of an image of ``size``."""
    rows, cols = layout.mcu
    return slice(top * rows, min(size[0], bottom * rows)), slice(left * cols, min(size[1], right * cols))


def _mcu_view(plane: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """``(..., H, W)`` → a view ``(..., H // rows, rows, W // cols, cols)`` of its whole ``rows × cols`` units."""
    height, width = plane.shape[-2] // rows * rows, plane.shape[-1] // cols * cols
    return plane[..., :height, :width].unflatten(-1, (-1, cols)).unflatten(-3, (-1, rows))


def mcu_units(plane: torch.Tensor, unit: tuple[int, int], index: torch.Tensor) -> torch.Tensor:
    """The ``unit`` ``(rows, cols)`` pieces of ``(..., H, W)`` at grid positions ``index`` ``(k, 2)`` (an MCU's pixels,
    or its coefficients in a plane): ``(k, ..., rows, cols)``, a copy."""
    return _mcu_view(plane, *unit)[..., index[:, 0], :, index[:, 1], :]


def put_mcu_units(plane: torch.Tensor, unit: tuple[int, int], index: torch.Tensor, pieces: torch.Tensor) -> None:
    """Writes ``pieces`` ``(k, ..., rows, cols)`` (as :func:`mcu_units` gives them) back into ``plane`` in place."""
    _mcu_view(plane, *unit)[..., index[:, 0], :, index[:, 1], :] = pieces


def _gather_mcus(plane: torch.Tensor, unit: tuple[int, int], index: torch.Tensor) -> torch.Tensor:
    """The ``unit`` ``(rows, cols)`` pieces of ``(..., H, W)`` at grid positions ``index`` ``(k, 2)``, side by side:
    ``(..., rows, k·cols)``."""
    return mcu_units(plane, unit, index).movedim(0, -2).flatten(-2)


def _scatter_mcus(plane: torch.Tensor, unit: tuple[int, int], index: torch.Tensor, values: torch.Tensor) -> None:
    """Writes ``values`` laid out as :func:`_gather_mcus` lays them back into ``plane`` in place."""
    put_mcu_units(plane, unit, index, values.unflatten(-1, (index.shape[0], unit[1])).movedim(-2, 0))


def _mcus_file(coefficients: JpegCoefficients, index: torch.Tensor) -> JpegCoefficients:
    """The file of the full-size MCUs at grid positions ``index`` ``(k, 2)`` laid side by side (:func:`_gather_mcus`):
    each MCU is coded on its own, so its coefficients are theirs, side by side."""
    layout = coefficients.layout
    rows, cols = layout.mcu
    luma = _gather_mcus(coefficients.luma, (rows, cols), index)
    chroma = None if coefficients.chroma is None else _gather_mcus(coefficients.chroma, (8, 8), index)
    return JpegCoefficients(luma, chroma, coefficients.tables, layout, (rows, index.shape[0] * cols))


def _rect_file(coefficients: JpegCoefficients, top: int, left: int, bottom: int, right: int) -> JpegCoefficients:
    """The file of the image of an MCU rectangle (each MCU is coded on its own; a ragged one padded as before)."""
    layout = coefficients.layout
    rows, cols = layout.mcu
    chroma = coefficients.chroma
    pixel_rows, pixel_cols = _rect_pixels(top, left, bottom, right, layout, coefficients.size)
    return JpegCoefficients(
        coefficients.luma[..., top * rows : bottom * rows, left * cols : right * cols],
        None if chroma is None else chroma[..., 8 * top : 8 * bottom, 8 * left : 8 * right],
        coefficients.tables,
        layout,
        (pixel_rows.stop - pixel_rows.start, pixel_cols.stop - pixel_cols.start),
    )


@dataclass(frozen=True)
class Smoothness:
    """What :func:`smooth_to_bins` asks of its image, against each unit of squared change: ``border``, the weight
    of the squared step between neighbours on either side of an 8×8 block border (JPEG's blocking); ``inside``,
    of the squared step between the other neighbours (a smooth image). Zero for both: the Euclidean projection."""

    border: float = 0.0
    inside: float = 0.0


SMOOTH_ITERATIONS = 3
"""Accelerated projected-gradient steps of :func:`smooth_to_bins`. Its problem is well conditioned (the curvature
lies in [1, 1 + 4·(max(border, inside) + inside)]): on BSD68 ×4 at quality 40, 5, 10 and 20 steps gave the same
PSNR-Y and grid ratio to 0.001; with the float32 steps, paired, 3 − 5 steps on the first 16 images at quality 40:
−0.0002 ± 0.00007 dB, 32-px grid 1.170 against 1.172; on the first 12 at 75: −0.0003 ± 0.00004 dB, 1.128
against 1.130."""


def _neighbour_weights(
    height: int, width: int, smoothness: Smoothness, like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights of the horizontal ``(1, width − 1)`` and vertical ``(height − 1, 1)`` neighbour pairs of a plane: a
    pair whose second pixel starts an 8×8 block gets ``border``, the others ``inside``."""

    def along(size: int) -> torch.Tensor:
        starts_block = torch.arange(1, size, device=like.device) % 8 == 0
        return torch.where(starts_block, smoothness.border, smoothness.inside).to(like.dtype)

    return along(width).view(1, -1), along(height).view(-1, 1)


def _step_gradient(plane: torch.Tensor, across: torch.Tensor, down: torch.Tensor) -> torch.Tensor:
    """Gradient of ½·Σ weight·(neighbour step)² over ``plane`` ``(N, k, H, W)``, weights from
    :func:`_neighbour_weights`."""
    horizontal = (plane[..., 1:] - plane[..., :-1]).mul_(across)
    vertical = (plane[..., 1:, :] - plane[..., :-1, :]).mul_(down)
    gradient = torch.zeros_like(plane)
    gradient[..., 1:] += horizontal
    gradient[..., :-1] -= horizontal
    gradient[..., 1:, :] += vertical
    gradient[..., :-1, :] -= vertical
    return gradient


def _smooth_correction(
    plane: torch.Tensor,
    target: torch.Tensor,
    table: torch.Tensor,
    margin: float,
    smoothness: Smoothness,
    iterations: int,
) -> torch.Tensor:
    """The change of ``plane`` ``(N, k, H, W)`` that minimises ½‖change‖² plus the smoothness of the result, with
    every coded block in the bins of ``target`` ``(k, h, w)``: FISTA from the Euclidean projection, in float32
    (1.7× as fast as float64 on 512² JPEGs at quality 40, moving the result by under 4e-5 levels: the same pixels
    after rounding), and a last clip in ``plane``'s precision."""
    work = plane.float()
    across, down = _neighbour_weights(plane.shape[-2], plane.shape[-1], smoothness, work)
    step = 1 / (1 + 4 * (max(smoothness.border, smoothness.inside) + smoothness.inside))

    edges = _bin_edges(target.float(), table.float(), margin)

    def onto_bins(image: torch.Tensor) -> torch.Tensor:
        return image + _clip_correction(image, edges)

    current = onto_bins(work)
    previous, momentum = current, 1.0
    for _ in range(iterations):
        following = (1 + math.sqrt(1 + 4 * momentum**2)) / 2
        probe = current + (momentum - 1) / following * (current - previous)
        gradient = probe - work + _step_gradient(probe, across, down)
        previous, current, momentum = current, onto_bins(probe - step * gradient), following
    result = plane + (current - work).to(plane.dtype)
    return result + _clip_correction(result, _bin_edges(target, table, margin)) - plane


def smooth_to_bins(
    z: torch.Tensor,
    coefficients: JpegCoefficients,
    smoothness: Smoothness,
    margin: float = MARGIN,
    iterations: int = SMOOTH_ITERATIONS,
) -> torch.Tensor:
    """A projection of ``z`` ``(1, C, h, w)`` onto the file's bins that is not the Euclidean one: per plane (luma, and
    each sampled chroma plane) the image in the bins (``margin`` inside) that minimises ½‖change‖² plus
    ``smoothness``' weighted squared neighbour steps, the bins a box in the orthonormal DCT domain
    (:func:`_clip_correction` projects onto it exactly); unclipped, ragged borders as :func:`project_to_bins`.

    The Euclidean clip moves each block on its own and keeps every step the estimate had across block borders;
    weighting those steps (``border``) takes the JPEG's blocking out of an estimate that kept some of it, and a
    weight on all steps (``inside``) pulls the bins' freedom towards a smooth image, nearer the truth than the
    detail a generative network invented. With both weights zero this is :func:`project_to_bins`.

    Example:
        >>> torch.manual_seed(0) and None
        >>> truth = torch.rand(1, 3, 16, 16, dtype=torch.float64) * 255
        >>> file = quantize_coefficients(truth, quality_tables(40), JpegLayout())
        >>> guess = torch.rand(1, 3, 16, 16, dtype=torch.float64) * 255
        >>> luma, chroma = dct_coefficients(smooth_to_bins(guess, file, Smoothness(0.3, 0.1)), file.tables, file.layout)
        >>> bool((luma - file.luma).abs().max() <= 0.5) and bool((chroma - file.chroma).abs().max() <= 0.5)
        True
    """
    if smoothness.border == smoothness.inside == 0:
        return project_to_bins(z, coefficients, margin)

    def change(plane: torch.Tensor, target: torch.Tensor, table: torch.Tensor, _: int) -> torch.Tensor:
        return _smooth_correction(plane, target, table, margin, smoothness, iterations)

    return _apply_plane_changes(z, coefficients, change)


def shrink_to_centres(z: torch.Tensor, coefficients: JpegCoefficients, weights: torch.Tensor) -> torch.Tensor:
    """``z`` ``(1, C, h, w)`` (float, [0, 255]) with every coded coefficient ``v`` moved towards the centre ``c·Q`` of
    its bin: ``c·Q + λ·(v − c·Q)``, ``λ`` per frequency from ``weights`` ``(2, 8, 8)`` in [0, 1] (luma, chroma;
    natural order); unclipped, ragged borders as :func:`project_to_bins`.

    A convex combination of a point in a bin and the bin's centre stays in the bin, so an image in the bins (an
    MCU-aligned output of :func:`smooth_to_bins`) stays there. It is a linear (Wiener) estimate of the true
    coefficient from an estimate and the file: ``λ`` small where the estimate is less reliable than the bin's
    centre (a network's tone drift at the DC, invented detail at the highest frequencies). The chroma changes
    are spread over each sampling block (the detail inside it is kept). All ones: ``z`` unchanged.

    Example:
        >>> torch.manual_seed(0) and None
        >>> truth = torch.rand(1, 3, 16, 16, dtype=torch.float64) * 255
        >>> file = quantize_coefficients(truth, quality_tables(40), JpegLayout())
        >>> inside = smooth_to_bins(torch.rand_like(truth) * 255, file, Smoothness(0.3, 0.1))
        >>> shrunk = shrink_to_centres(inside, file, torch.full((2, 8, 8), 0.5, dtype=torch.float64))
        >>> luma, chroma = dct_coefficients(shrunk, file.tables, file.layout)
        >>> bool((luma - file.luma).abs().max() <= 0.5) and bool((chroma - file.chroma).abs().max() <= 0.5)
        True
    """

    def change(plane: torch.Tensor, target: torch.Tensor, table: torch.Tensor, component: int) -> torch.Tensor:
        coded = plane[..., : target.shape[-2], : target.shape[-1]]
        steps = _tile_table(table, *target.shape[-2:])
        keep = _tile_table(weights[component].to(plane), *target.shape[-2:])
        values = block_dct(coded)
        correction = torch.zeros_like(plane)
        correction[..., : target.shape[-2], : target.shape[-1]] = block_dct(
            (keep - 1) * (values - target * steps), inverse=True
        )
        return correction

    return _apply_plane_changes(z, coefficients, change)


def mcu_mismatches(encoded: JpegCoefficients, target: JpegCoefficients) -> torch.Tensor:
    """Per MCU, ``(rows, cols)`` int64, how many coefficients of ``encoded`` differ from ``target``."""
    layout = target.layout
    mcu_rows, mcu_cols = layout.mcu
    h, w = target.size
    grid = (math.ceil(h / mcu_rows), math.ceil(w / mcu_cols))

    def per_mcu(diff: torch.Tensor, block_rows: int, block_cols: int) -> torch.Tensor:
        counts = (diff != 0).double().sum(0)
        counts = F.pad(
            counts, (0, grid[1] * block_cols * 8 - counts.shape[-1], 0, grid[0] * block_rows * 8 - counts.shape[-2])
        )
        return counts.reshape(grid[0], block_rows * 8, grid[1], block_cols * 8).sum((1, 3)).long()

    luma_rows, luma_cols = layout.sample_block
    total = per_mcu(encoded.luma - target.luma, luma_rows, luma_cols)
    if target.chroma is not None and encoded.chroma is not None:
        total += per_mcu(encoded.chroma - target.chroma, 1, 1)
    return total


@dataclass(frozen=True)
class Agreement:
    """How much of a file a candidate reproduces: coefficients and MCUs equal, of how many."""

    coefficients: int
    total_coefficients: int
    mcus: int
    total_mcus: int

    @property
    def exact(self) -> bool:
        return self.coefficients == self.total_coefficients

    @property
    def fraction(self) -> float:
        return self.coefficients / self.total_coefficients


def agreement(encoded: JpegCoefficients, target: JpegCoefficients) -> Agreement:
    """Compare the coefficients of a re-encoding with the file's."""
    return agreement_of(mcu_mismatches(encoded, target), target)


def agreement_of(mismatches: torch.Tensor, target: JpegCoefficients) -> Agreement:
    """The :class:`Agreement` with ``target`` of a re-encoding whose :func:`mcu_mismatches` are ``mismatches``."""
    total = target.luma.numel() + (0 if target.chroma is None else target.chroma.numel())
    return Agreement(total - int(mismatches.sum()), total, int((mismatches == 0).sum()), mismatches.numel())


Encoder = Callable[[torch.Tensor], JpegCoefficients]
"""Encodes a ``(1, C, h, w)`` uint8 image with a file's own tables and sampling and returns its coefficients."""

REPAIR_ROUNDS = 12
"""Encode-and-correct rounds :func:`repair_rows` spends first on the MCUs whose re-encoding still differs."""
EXPLORE_ROUNDS = 100
"""Stochastic roundings it tries after them at most (on BSD68 crops at q40–90, 20 left 1 in 10⁵ coefficients
wrong at q40, 60 none; small synthetic images with ragged MCUs sometimes keep one wrong MCU after 150)."""
STALL_ROUNDS = 40
"""Rounds without a better MCU after which the repair stops exploring (the MCUs left are usually saturated)."""
EXPLORE_MARGINS = (0.5 * MARGIN, MARGIN, 2 * MARGIN, 3 * MARGIN)
"""The margins of the projections those roundings start from, in turn."""


def _mcu_mask(bad: torch.Tensor, layout: JpegLayout, size: tuple[int, int]) -> torch.Tensor:
    rows, cols = layout.mcu
    mask = bad.repeat_interleave(rows, 0).repeat_interleave(cols, 1)
    return mask[: size[0], : size[1]]


def feedback_step(
    image: torch.Tensor, encoded: JpegCoefficients, target: JpegCoefficients, depth: float = 0.25
) -> torch.Tensor:
    """``(1, C, h, w)`` float: ``image`` with each coefficient its real encoding got wrong (``encoded`` ≠ ``target``)
    moved, in the float model, to ``depth`` of a step inside its bin from the centre, away from the side the
    encoder fell out of; the other coefficients keep their values."""
    layout, tables = target.layout, target.tables
    h, w = target.size
    rows, cols = layout.mcu
    padded = (h + -h % rows, w + -w % cols)
    luma_now, chroma_now = dct_coefficients(image, tables, layout)

    def spatial(now: torch.Tensor, wanted: torch.Tensor, got: torch.Tensor, table: torch.Tensor, size: tuple[int, int]):
        goal = wanted - depth * torch.sign(got - wanted)
        diff = torch.where(got != wanted, goal - now[0], torch.zeros_like(now[0]))
        change = block_dct((diff * _tile_table(table, *diff.shape[-2:]))[None], inverse=True)
        return F.pad(change, (0, size[1] - change.shape[-1], 0, size[0] - change.shape[-2]))

    luma = spatial(luma_now, target.luma, encoded.luma, tables[..., 0, :, :], padded)
    if target.chroma is None or encoded.chroma is None or chroma_now is None:
        return image + fold_padding(luma, h, w)
    sr, sc = layout.sampling
    chroma_size = (padded[0] // sr, padded[1] // sc)
    chroma = spatial(chroma_now, target.chroma, encoded.chroma, tables[..., 1, :, :], chroma_size)
    chroma = chroma.repeat_interleave(sr, -2).repeat_interleave(sc, -1)
    change = fold_padding(torch.cat((luma, chroma), 1), h, w)
    return image + _colour(YCBCR_TO_RGB, change)


def _mcu_rows(image: torch.Tensor, rows: list[int], layout: JpegLayout) -> torch.Tensor:
    """The pixel rows of MCU rows ``rows`` of ``(1, C, h, w)``, stacked in order."""
    height = layout.mcu[0]
    return torch.cat([image[..., r * height : (r + 1) * height, :] for r in rows], -2)


def _coefficient_rows(coefficients: JpegCoefficients, rows: list[int]) -> JpegCoefficients:
    """The coefficients of MCU rows ``rows`` only: the file of the image :func:`_mcu_rows` stacks. Each MCU row is
    coded on its own (and a ragged last row, kept last, is padded as before), so that file's coefficients are
    these."""
    layout = coefficients.layout
    luma_rows = layout.mcu[0]
    luma = torch.cat([coefficients.luma[..., r * luma_rows : (r + 1) * luma_rows, :] for r in rows], -2)
    chroma = coefficients.chroma
    if chroma is not None:
        chroma = torch.cat([chroma[..., r * 8 : (r + 1) * 8, :] for r in rows], -2)
    height = sum(min(layout.mcu[0], coefficients.size[0] - r * layout.mcu[0]) for r in rows)
    return JpegCoefficients(luma, chroma, coefficients.tables, layout, (height, coefficients.size[1]))


def _repair(
    z: torch.Tensor,
    target: JpegCoefficients,
    encode: Encoder,
    fallback: torch.Tensor | None,
    best: torch.Tensor,
    rounds: int,
    explore: int,
) -> torch.Tensor:
    """The repair loop of :func:`repair_rows` from the rounded projection ``best``; the repaired image."""
    generator = torch.Generator().manual_seed(0)
    best_code = encode(best)
    best_misses = mcu_mismatches(best_code, target)

    def keep_better(candidate: torch.Tensor, code: JpegCoefficients) -> bool:
        """Take the MCUs where ``candidate`` encodes closer to the file; whether there were any."""
        nonlocal best, best_code, best_misses
        better = mcu_mismatches(code, target) < best_misses
        if not bool(better.any()):
            return False
        best = torch.where(_mcu_mask(better, target.layout, target.size), candidate, best)
        best_code = encode(best)
        best_misses = mcu_mismatches(best_code, target)
        return True

    current, code = best, best_code
    explored: list[torch.Tensor] = []  # projections of the best image and the fallback at EXPLORE_MARGINS, made once
    last_gain = 0
    for attempt in range(rounds + explore):
        if not bool(best_misses.any()) or attempt - last_gain > STALL_ROUNDS:
            break
        if attempt < rounds:
            step = feedback_step(current.double(), code, target) if attempt % 2 else current.double()
            moved = project_consistent(step, target, MARGIN * (1 + attempt / rounds), iterations=2)
            dither = (torch.rand(z.shape, generator=generator, dtype=torch.float64) - 0.5) * 0.5 * min(attempt, 1)
            candidate = (moved + dither).round().clamp(0, 255).to(torch.uint8)
        else:
            if not explored:
                starts = [best] if fallback is None else [best, fallback]
                explored = [project_consistent(x.double(), target, m) for m in EXPLORE_MARGINS for x in starts]
            moved = explored[attempt % len(explored)]
            noise = torch.rand(z.shape, generator=generator, dtype=torch.float64)
            candidate = (moved + noise).floor().clamp(0, 255).to(torch.uint8)
        current, code = candidate, encode(candidate)
        if keep_better(candidate, code):
            last_gain = attempt
    if fallback is not None and bool(best_misses.any()):
        keep_better(fallback, encode(fallback))
    return best


def repair_rows(
    z: torch.Tensor,
    best: torch.Tensor,
    target: JpegCoefficients,
    encode: Encoder,
    fallback: torch.Tensor | None = None,
    rounds: int = REPAIR_ROUNDS,
    explore: int = EXPLORE_ROUNDS,
    encoded: JpegCoefficients | None = None,
) -> torch.Tensor:
    """uint8 ``best`` ``(1, C, h, w)`` with the MCU rows whose real encoding (``encode``; ``encoded`` where the caller
    has it) still differs from the file repaired near ``z`` (float, [0, 255]). First ``rounds`` steps of a chain: the
    last candidate projected again with a margin growing to twice :data:`MARGIN` and rounded with a small dither,
    every other step first moved off the edges its encoding fell out of (:func:`feedback_step`). Then ``explore``
    stochastic roundings of the projections of the best image and of ``fallback`` at :data:`EXPLORE_MARGINS` (at
    high quality one step of a coefficient is smaller than a pixel's rounding, so which way each pixel rounds
    decides), until :data:`STALL_ROUNDS` bring nothing. Per MCU the candidate whose encoding differs from the file
    least is kept; ``fallback`` (the file's own decoded pixels) is the last candidate."""
    code = encode(best) if encoded is None else encoded
    bad_rows = mcu_mismatches(code, target).any(1).nonzero().flatten().tolist()
    if not bad_rows:
        return best

    def pick(image: torch.Tensor) -> torch.Tensor:
        return _mcu_rows(image, bad_rows, target.layout)

    sub_target = _coefficient_rows(target, bad_rows)  # the encoder checks the rows alone, as it coded them
    spare = None if fallback is None else pick(fallback)
    repaired = _repair(pick(z), sub_target, encode, spare, pick(best), rounds, explore)
    height, done = target.layout.mcu[0], 0
    best = best.clone()
    for r in bad_rows:
        rows = min(height, target.size[0] - r * height)
        best[..., r * height : r * height + rows, :] = repaired[..., done : done + rows, :]
        done += rows
    return best


def box_target(sr_lr: torch.Tensor, coefficients: JpegCoefficients, margin: float = MARGIN) -> torch.Tensor:
    """The float LR the network's box-downsampled output ``sr_lr`` ``(N, C, h, w)`` in [0, 1] should be moved to
    for training: one :func:`project_to_bins` in [0, 255] and back; differentiable (a clip)."""
    return project_to_bins(sr_lr * 255, coefficients, margin) / 255
