"""16-bit colour TIFF (RGB, RGBA, gray + alpha) through tifffile.

Pillow opens a 16-bit RGB or RGBA TIFF as 8-bit, silently dropping the low byte, cannot open
16-bit gray + alpha, and cannot write any of them; scans from archives are often exactly such
files. 16-bit gray TIFF (one sample per pixel) stays with Pillow, which handles it.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import tifffile
import torch

from srcli.errors import ImageError

TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
INCH, CENTIMETER = 2, 3
logging.getLogger("tifffile").addHandler(logging.NullHandler())  # its parse warnings become our one-line error


class Tiff16Error(ImageError):
    """A 16-bit TIFF this module cannot read; the message is one line for the user."""


@dataclass(frozen=True)
class Tiff16:
    """Pixels ``(C, H, W)`` int32 in [0, 65535] (C = 2, 3 or 4), and what travels with them."""

    channels: torch.Tensor
    has_alpha: bool
    icc_profile: bytes | None
    dpi: tuple[float, float] | None
    orientation: int


def is_tiff(data: bytes) -> bool:
    return data[:4] in TIFF_MAGICS


def _dpi(page: tifffile.TiffPage) -> tuple[float, float] | None:
    tags = page.tags
    if "XResolution" not in tags or "YResolution" not in tags:
        return None
    unit = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else INCH
    (x_num, x_den), (y_num, y_den) = tags["XResolution"].value, tags["YResolution"].value
    if unit == CENTIMETER:
        return (x_num / x_den * 2.54, y_num / y_den * 2.54)
    return (x_num / x_den, y_num / y_den) if unit == INCH else None


def read_tiff16(data: bytes, max_pixels: int | None) -> Tiff16 | None:
    """The first page of a 16-bit TIFF with more than one sample per pixel; None for any other
    TIFF. ``max_pixels`` is the decompression-bomb guard (None: no limit)."""
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tiff:
            page = tiff.pages[0]
            if page.bitspersample != 16 or page.samplesperpixel == 1:
                return None
            photometric, samples = int(page.photometric), page.samplesperpixel
            layouts = {(2, 3): False, (2, 4): True, (1, 2): True}  # (RGB | MINISBLACK, samples) → alpha
            if (photometric, samples) not in layouts or page.sampleformat != 1:
                raise Tiff16Error(
                    f"16-bit TIFF with photometric {page.photometric.name}, {samples} samples and sample "
                    f"format {int(page.sampleformat)} is not supported; use RGB, RGBA or gray + alpha, unsigned"
                )
            if max_pixels is not None and page.imagewidth * page.imagelength > max_pixels:
                raise Tiff16Error(f"image too large ({max_pixels} pixels at most, a decompression bomb guard)")
            array = np.moveaxis(page.asarray(), page.axes.index("S"), 0).astype(np.int32)
            icc = page.tags["InterColorProfile"].value if "InterColorProfile" in page.tags else None
            orientation = int(page.tags["Orientation"].value) if "Orientation" in page.tags else 1
            dpi = _dpi(page)
    except Tiff16Error:
        raise
    except (tifffile.TiffFileError, ValueError, KeyError, IndexError) as error:
        raise Tiff16Error(f"broken or unsupported TIFF ({error})") from None
    return Tiff16(torch.from_numpy(np.ascontiguousarray(array)), layouts[(photometric, samples)], icc, dpi, orientation)


def encode_tiff16(
    channels: torch.Tensor, has_alpha: bool, icc_profile: bytes | None, dpi: tuple[float, float] | None
) -> bytes:
    """``(C, H, W)`` values in [0, 65535] (C = 2, 3 or 4) → uncompressed 16-bit TIFF bytes with
    unassociated (straight) alpha, the ICC profile and the resolution in dots per inch. EXIF is
    not written."""
    array = channels.permute(1, 2, 0).numpy().astype(np.uint16)
    options: dict[str, Any] = {
        "photometric": "rgb" if channels.shape[0] - int(has_alpha) == 3 else "minisblack",
        "planarconfig": "contig",
        "extrasamples": ("unassalpha",) if has_alpha else None,
    }
    if icc_profile:
        options["iccprofile"] = icc_profile
    if dpi:
        options |= {"resolution": dpi, "resolutionunit": "INCH"}
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **options)
    return buffer.getvalue()
