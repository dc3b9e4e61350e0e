"""libjpeg's baseline encoder in integer arithmetic, as libjpeg-turbo (Pillow's) computes it, bit for bit.

The float model of :mod:`srcli.maths.jpeg` describes the bins; this one says which bin an 8-bit image really
lands in, and how far inside it: the fixed-point JFIF colour conversion (16 fractional bits, Cb and Cr rounded
with ½ − ε), the chroma downsampling ``(a + b + c + d + bias) >> 2`` with the bias alternating 1, 2 along each
row (``(a + b + bias) >> 1`` with 0, 1 for 4:2:2), the edge replication (the last column before sampling, the
last row to the sampling block before it and to the whole block after it), the "islow" DCT (13-bit constants,
2 extra bits between its passes, an output 8 times the orthonormal DCT) and the quantizer's division of that
output by ``8·Q`` rounding half away from zero.

Images are uint8 ``(N, C, h, w)`` (``C`` 3 RGB or 1 gray); workspaces are int32 ``(N, 1, 8·by, 8·bx)`` luma and
``(N, 2, 8·cy, 8·cx)`` chroma in the block layout of :class:`srcli.maths.jpeg.JpegCoefficients`.
"""

from __future__ import annotations

import functools

import torch

from srcli.maths.jpeg import JpegLayout, pad_columns, pad_rows

SCALEBITS = 16
"""Fractional bits of libjpeg's colour conversion."""
_ONE_HALF = 1 << (SCALEBITS - 1)
_CHROMA_OFFSET = (128 << SCALEBITS) + _ONE_HALF - 1
_RGB_TO_YCBCR_FIXED = ((19595, 38470, 7471), (-11059, -21709, 32768), (32768, -27439, -5329))
"""``round(65536·m)`` of JFIF's colour matrix, as ``jccolor.c`` tabulates it."""

CONST_BITS, PASS1_BITS = 13, 2
"""Fixed-point bits of the islow DCT's constants, and the bits it keeps between its two passes."""
_C = {
    "0.298631336": 2446,
    "0.390180644": 3196,
    "0.541196100": 4433,
    "0.765366865": 6270,
    "0.899976223": 7373,
    "1.175875602": 9633,
    "1.501321110": 12299,
    "1.847759065": 15137,
    "1.961570560": 16069,
    "2.053119869": 16819,
    "2.562915447": 20995,
    "3.072711026": 25172,
}
"""``round(2¹³·c)`` of the constants of ``jfdctint.c``."""


def _islow_linear(x: torch.Tensor) -> torch.Tensor:
    """``jfdctint.c``'s butterfly over the last dimension (8) of ``x`` up to its rounding: the integer combination
    of the inputs that each of the 8 outputs shifts (out0 and out4 before their ``PASS1_BITS``)."""
    tmp0, tmp1, tmp2, tmp3 = (x[..., i] + x[..., 7 - i] for i in range(4))
    tmp7, tmp6, tmp5, tmp4 = (x[..., i] - x[..., 7 - i] for i in range(4))
    tmp10, tmp13, tmp11, tmp12 = tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2
    z1 = (tmp12 + tmp13) * _C["0.541196100"]
    out2, out6 = z1 + tmp13 * _C["0.765366865"], z1 - tmp12 * _C["1.847759065"]
    z1, z2, z3, z4 = tmp4 + tmp7, tmp5 + tmp6, tmp4 + tmp6, tmp5 + tmp7
    z5 = (z3 + z4) * _C["1.175875602"]
    tmp4, tmp5 = tmp4 * _C["0.298631336"], tmp5 * _C["2.053119869"]
    tmp6, tmp7 = tmp6 * _C["3.072711026"], tmp7 * _C["1.501321110"]
    z1, z2 = z1 * -_C["0.899976223"], z2 * -_C["2.562915447"]
    z3, z4 = z3 * -_C["1.961570560"] + z5, z4 * -_C["0.390180644"] + z5
    out7, out5, out3, out1 = tmp4 + z1 + z3, tmp5 + z2 + z4, tmp6 + z2 + z3, tmp7 + z1 + z4
    return torch.stack((tmp10 + tmp11, out1, out2, out3, tmp10 - tmp11, out5, out6, out7), -1)


@functools.lru_cache(maxsize=4)
def _pass_constants(first: bool, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One islow pass as ``⌊(x @ matrix + offset) · factor⌋``: the butterfly's integer matrix ``(8, 8)`` (inputs by
    outputs) and per output the rounding offset and power of two, float64. out0 and out4 are shifted left by
    ``PASS1_BITS`` in the first pass and descaled by it in the second; the others descaled by ``CONST_BITS ∓
    PASS1_BITS``."""
    matrix = _islow_linear(torch.eye(8, dtype=torch.int64)).to(torch.float64)
    odd_bits = CONST_BITS - PASS1_BITS if first else CONST_BITS + PASS1_BITS
    even_bits = -PASS1_BITS if first else PASS1_BITS  # a negative shift: to the left, no rounding
    bits = torch.tensor([even_bits if k in (0, 4) else odd_bits for k in range(8)], dtype=torch.float64)
    offset = torch.where(bits > 0, 2 ** (bits - 1), torch.zeros_like(bits))
    return matrix.to(device), offset.to(device), (2.0**-bits).to(device)


def _islow_pass(x: torch.Tensor, first: bool) -> torch.Tensor:
    """One pass of ``jfdctint.c`` over the last dimension (8) of float64 ``x`` holding integers: the butterfly as a
    matrix product, exact in float64 (every sum stays under 2²⁸), then libjpeg's shifts (a right shift is
    the floor of the division)."""
    matrix, offset, factor = _pass_constants(first, x.device)
    return torch.matmul(x, matrix).add_(offset).mul_(factor).floor_()


def islow_dct(planes: torch.Tensor) -> torch.Tensor:
    """libjpeg's islow forward DCT of every 8×8 block of integer ``(N, C, H, W)`` samples in [0, 255] (centred on 128
    inside): 8 × the orthonormal DCT, rounded as libjpeg rounds; same shape, int32.

    Example:
        >>> int(islow_dct(torch.full((1, 1, 8, 8), 130, dtype=torch.int64))[0, 0, 0, 0])  # 8 × (8 × 2)
        128
    """
    n, c, h, w = planes.shape
    blocks = (planes - 128).to(torch.float64).reshape(n, c, h // 8, 8, w // 8, 8).permute(0, 1, 2, 4, 3, 5)
    rows = _islow_pass(blocks, first=True)
    columns = _islow_pass(rows.transpose(-1, -2), first=False).transpose(-1, -2)
    return columns.permute(0, 1, 2, 4, 3, 5).reshape(n, c, h, w).to(torch.int32)


def ycbcr_fixed(rgb: torch.Tensor) -> torch.Tensor:
    """libjpeg's integer JFIF conversion of integer ``(N, 3, H, W)`` RGB in [0, 255]: YCbCr, int32, [0, 255].

    Example:
        >>> ycbcr_fixed(torch.tensor([255, 0, 0]).view(1, 3, 1, 1)).flatten().tolist()
        [76, 85, 255]
    """
    red, green, blue = rgb.to(torch.int32).unbind(1)  # every sum stays under 2²⁵: int32 is exact, and twice as fast
    offsets = (_ONE_HALF, _CHROMA_OFFSET, _CHROMA_OFFSET)
    planes = [
        (red * r + green * g + blue * b + offset) >> SCALEBITS
        for (r, g, b), offset in zip(_RGB_TO_YCBCR_FIXED, offsets, strict=True)
    ]
    return torch.stack(planes, 1)


def sample_means(sums: torch.Tensor, count: int, columns: torch.Tensor) -> torch.Tensor:
    """libjpeg's downsampled samples from integer ``sums`` of ``count`` (1, 2 or 4) values each, at sample
    ``columns`` (broadcast with ``sums``): ``(sum + bias) >> log2(count)``, the bias alternating 1, 2, 1, … along
    a row over 4 values (0, 1, … over 2)."""
    if count == 1:
        return sums
    bias = (1 if count == 4 else 0) + columns % 2
    return (sums + bias) >> (count.bit_length() - 1)


def downsample(chroma: torch.Tensor, sampling: tuple[int, int]) -> torch.Tensor:
    """libjpeg's box downsampling of integer ``(N, k, H, W)`` by ``sampling`` (rows, cols) with its ordered bias."""
    rows, cols = sampling
    n, k, h, w = chroma.shape
    sums = chroma.reshape(n, k, h // rows, rows, w // cols, cols).sum((3, 5), dtype=chroma.dtype)
    return sample_means(sums, rows * cols, torch.arange(w // cols, device=chroma.device))


def libjpeg_workspace(z: torch.Tensor, layout: JpegLayout) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The islow DCT outputs libjpeg quantizes for uint8 ``z`` ``(N, C, h, w)``: luma ``(N, 1, 8·by, 8·bx)`` and chroma
    ``(N, 2, 8·cy, 8·cx)`` (``None`` for gray), int32, 8 × the orthonormal DCT of the level-shifted planes."""
    h, w = z.shape[-2:]
    x = pad_columns(z.to(torch.int32), layout.mcu[1])
    by, bx = layout.luma_blocks(h, w)
    if layout.gray:
        return islow_dct(pad_rows(x, 8))[..., : 8 * by, : 8 * bx], None
    ycc = pad_rows(ycbcr_fixed(x), layout.sampling[0])
    luma = islow_dct(pad_rows(ycc[:, :1], 8))[..., : 8 * by, : 8 * bx]
    cy, cx = layout.chroma_blocks(h, w)
    chroma = pad_rows(downsample(ycc[:, 1:], layout.sampling), 8)
    return luma, islow_dct(chroma)[..., : 8 * cy, : 8 * cx]


def quantize_workspace(workspace: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """libjpeg's quantization of an integer ``workspace`` ``(..., H, W)`` by the ``(8, 8)`` ``table``: the integer
    coefficients, ``sign · ⌊(|ws| + 4Q) / 8Q⌋``, int64.

    Example:
        >>> quantize_workspace(torch.tensor([[-12, -11, 11, 12] + [0] * 4] * 8), torch.full((8, 8), 3)).tolist()[0]
        [-1, 0, 0, 1, 0, 0, 0, 0]
    """
    divisor = 8 * table.to(torch.int64).repeat(workspace.shape[-2] // 8, workspace.shape[-1] // 8)
    return torch.sign(workspace) * ((workspace.abs() + divisor // 2) // divisor)


def bin_interval(coefficients: torch.Tensor, table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The int32 workspace values ``[low, high]`` that :func:`quantize_workspace` turns into ``coefficients``
    ``(..., H, W)`` (integers) under ``table`` ``(8, 8)``.

    Example:
        >>> low, high = bin_interval(torch.tensor([[-1, 0, 1] + [0] * 5] * 8), torch.full((8, 8), 3))
        >>> low[0, :3].tolist(), high[0, :3].tolist()
        ([-35, -11, 12], [-12, 11, 35])
    """
    c = coefficients.to(torch.int32)
    divisor = 8 * table.to(torch.int32).repeat(c.shape[-2] // 8, c.shape[-1] // 8)
    half = divisor // 2
    low = c * divisor - half + (c <= 0).to(torch.int32)
    high = c * divisor + half - (c >= 0).to(torch.int32)
    return low, high
