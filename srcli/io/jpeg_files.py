"""JPEG files as coefficients: read a file's quantized DCT coefficients and tables (through ``jpeglib``'s
libjpeg), and encode an image with a file's own tables and sampling (through Pillow's libjpeg) to check
which coefficients it reproduces. The maths of the bins is :mod:`srcli.maths.jpeg`."""

from __future__ import annotations

import io
import os
import tempfile

import numpy as np
import torch
from PIL import Image

from srcli.errors import ImageError
from srcli.maths.jpeg import JpegCoefficients, JpegLayout

SUBSAMPLING_CODES = {(1, 1): 0, (1, 2): 1, (2, 2): 2}
"""Pillow's ``subsampling`` argument for each chroma sampling block ``(rows, cols)``."""


def is_jpeg(data: bytes) -> bool:
    """Whether ``data`` starts like a JPEG file (SOI marker)."""
    return data[:3] == b"\xff\xd8\xff"


def _blocks(array: np.ndarray) -> torch.Tensor:
    """jpeglib's ``(by, bx, 8, 8)`` int16 blocks → a ``(8·by, 8·bx)`` float64 coefficient plane."""
    by, bx = array.shape[:2]
    return torch.from_numpy(
        np.ascontiguousarray(array.transpose(0, 2, 1, 3)).reshape(8 * by, 8 * bx).astype(np.float64)
    )


def _read_dct(path: str) -> JpegCoefficients:
    import jpeglib

    try:
        jpeg = jpeglib.read_dct(path)
        luma = jpeg.Y
    except Exception as error:  # libjpeg reports corruption as a generic error
        raise ImageError(f"not a readable JPEG: {str(error).strip() or type(error).__name__}") from error
    components = jpeg.num_components
    if components not in (1, 3) or jpeg.has_black:
        raise ImageError(f"JPEG with {components} components (CMYK or YCCK) is not supported: convert it to RGB")
    factors = np.asarray(jpeg.samp_factor)
    tables = torch.from_numpy(np.asarray(jpeg.qt, dtype=np.float64))
    numbers = list(np.asarray(jpeg.quant_tbl_no).ravel())
    if components == 1:
        layout = JpegLayout(gray=True)
        luma_table = tables[numbers[0]]
        return JpegCoefficients(
            _blocks(luma)[None], None, torch.stack((luma_table, luma_table)), layout, (jpeg.height, jpeg.width)
        )
    if (factors[1:] != 1).any() or tuple(factors[0]) not in SUBSAMPLING_CODES or numbers[1] != numbers[2]:
        raise ImageError(f"JPEG chroma sampling {factors.tolist()} is not supported (4:4:4, 4:2:2 and 4:2:0 are)")
    layout = JpegLayout(sampling=(int(factors[0][0]), int(factors[0][1])))  # jpeglib: (vertical, horizontal)
    chroma = torch.stack((_blocks(jpeg.Cb), _blocks(jpeg.Cr)))
    luma_blocks, chroma_blocks = (
        layout.luma_blocks(jpeg.height, jpeg.width),
        layout.chroma_blocks(jpeg.height, jpeg.width),
    )
    luma_plane = _blocks(luma)[None, : 8 * luma_blocks[0], : 8 * luma_blocks[1]]
    chroma = chroma[:, : 8 * chroma_blocks[0], : 8 * chroma_blocks[1]]
    return JpegCoefficients(
        luma_plane, chroma, torch.stack((tables[numbers[0]], tables[numbers[1]])), layout, (jpeg.height, jpeg.width)
    )


def read_coefficients(data: bytes) -> JpegCoefficients:
    """The coefficients, tables and sampling of the JPEG file ``data``. Raises :class:`ImageError` for what is
    not an 8-bit baseline or progressive JPEG with 1 or 3 components in a supported sampling."""
    if not is_jpeg(data):
        raise ImageError("not a JPEG file")
    handle, name = tempfile.mkstemp(suffix=".jpg")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        return _read_dct(name)
    finally:
        os.unlink(name)


def _pil_image(image: torch.Tensor) -> Image.Image:
    array = image[0].permute(1, 2, 0).contiguous().numpy()
    return Image.fromarray(array[..., 0], "L") if array.shape[-1] == 1 else Image.fromarray(array, "RGB")


def encode_bytes(image: torch.Tensor, like: JpegCoefficients) -> bytes:
    """``(1, C, h, w)`` uint8 → the JPEG bytes Pillow's libjpeg writes with the tables and sampling of ``like``."""
    tables = like.tables.round().to(torch.int64)
    qtables = [tables[0].flatten().tolist()] if like.layout.gray else [t.flatten().tolist() for t in tables]
    buffer = io.BytesIO()
    options = {} if like.layout.gray else {"subsampling": SUBSAMPLING_CODES[like.layout.sampling]}
    _pil_image(image).save(buffer, "JPEG", qtables=qtables, **options)
    return buffer.getvalue()


def encode_like(image: torch.Tensor, like: JpegCoefficients) -> JpegCoefficients:
    """The coefficients of ``image`` ``(1, C, h, w)`` uint8 encoded with the tables and sampling of ``like``."""
    return read_coefficients(encode_bytes(image, like))


def jpeg_round_trip(
    image: torch.Tensor, quality: int, sampling: tuple[int, int]
) -> tuple[torch.Tensor, JpegCoefficients]:
    """Save ``(1, C, h, w)`` uint8 as a JPEG at ``quality`` with chroma ``sampling``; return what a decoder shows,
    ``(1, C, h, w)`` uint8, and the file's coefficients (the data a JPEG input gives srcli)."""
    buffer = io.BytesIO()
    options = {} if image.shape[1] == 1 else {"subsampling": SUBSAMPLING_CODES[sampling]}
    _pil_image(image).save(buffer, "JPEG", quality=quality, **options)
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as decoded:
        array = np.asarray(decoded)
    pixels = torch.from_numpy(array.copy())
    pixels = pixels[None, None] if pixels.dim() == 2 else pixels.permute(2, 0, 1)[None]
    return pixels, read_coefficients(data)
