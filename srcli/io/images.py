"""Image files ↔ integer tensors, keeping depth, alpha, ICC profile, DPI and EXIF.

Reading gives a :class:`Picture`: colour ``(C, H, W)`` integers (uint8 for 8-bit files, int32
for 16-bit ones) with C = 1 (gray) or 3 (RGB),
an optional alpha ``(1, H, W)``, and the bit depth (8 or 16). Pillow reads most files; 16-bit
PNGs (which Pillow reduces to 8 bits unless they are gray) go through pypng, 16-bit colour
TIFFs through tifffile (:mod:`srcli.io.tiff16`). EXIF
orientation is applied on reading. Writes are atomic (:mod:`srcli.io.atomic`): a temporary file in
the target folder, then a rename; an existing file is replaced only when asked.
"""

from __future__ import annotations

import io
import struct
import sys
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import png
import torch
from PIL import Image, ImageFile, UnidentifiedImageError

from srcli.errors import ImageError
from srcli.io.atomic import STDIO, write_bytes_atomic
from srcli.io.tiff16 import Tiff16Error, encode_tiff16, is_tiff, read_tiff16

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
"""What a folder's image files are called (inputs of a batch, benchmark and training folders)."""
EXIF_ORIENTATION = 0x0112
SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}


@dataclass(frozen=True)
class Picture:
    """Pixels and the metadata that travels with them.

    ``color``: ``(C, H, W)`` in ``[0, max_value]``, C = 1 or 3; uint8 at 8 bits, int32 at 16.
    ``alpha``: ``(1, H, W)`` of the same dtype, or None.
    """

    color: torch.Tensor
    alpha: torch.Tensor | None
    bit_depth: int
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None
    exif: bytes | None = None
    jpeg: bytes | None = None
    """The JPEG file the pixels were decoded from (its coefficients are the data), or None."""
    orientation: int = 1
    """The EXIF orientation (1–8) applied to the stored pixels on reading."""

    @property
    def max_value(self) -> int:
        return (1 << self.bit_depth) - 1

    @property
    def height(self) -> int:
        return self.color.shape[1]

    @property
    def width(self) -> int:
        return self.color.shape[2]

    @property
    def mode(self) -> str:
        """A short description such as ``RGBA 8-bit`` for reports."""
        name = ("L" if self.color.shape[0] == 1 else "RGB") + ("A" if self.alpha is not None else "")
        return f"{name} {self.bit_depth}-bit"

    def channels(self) -> torch.Tensor:
        """Colour and alpha stacked: ``(C [+1], H, W)``."""
        return self.color if self.alpha is None else torch.cat([self.color, self.alpha])

    def with_channels(self, channels: torch.Tensor) -> Picture:
        """The same metadata around new ``(C [+1], H', W')`` pixels."""
        c = self.color.shape[0]
        alpha = channels[c:] if self.alpha is not None else None
        return replace(self, color=channels[:c], alpha=alpha, jpeg=None, orientation=1)


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """An 8-bit Pillow image (L, LA, RGB or RGBA) → ``(C, H, W)`` uint8 tensor."""
    array = np.array(image, dtype=np.uint8).reshape(image.height, image.width, -1)
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def tensor_to_pil(tensor: torch.Tensor) -> Image.Image:
    """A ``(C, H, W)`` tensor of 8-bit values (C = 1, 2, 3 or 4) → Pillow image (L, LA, RGB, RGBA)."""
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[tensor.shape[0]]
    array = tensor.to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
    return Image.fromarray(array[:, :, 0] if mode == "L" else array, mode=mode)


def _read_bytes(source: Path | str) -> bytes:
    if str(source) == STDIO:
        return sys.stdin.buffer.read()
    path = Path(source)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image")
    try:
        return path.read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: cannot read ({error.strerror})") from None


def header_pixels(source: Path | str) -> int | None:
    """Width × height as the file's header gives it, without decoding; None where Pillow cannot tell."""
    try:
        with warnings.catch_warnings(), Image.open(source) as image:
            warnings.simplefilter("ignore")
            return image.width * image.height
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _png_bit_depth(data: bytes) -> int:
    """The bit depth in a PNG's IHDR, or 0 when ``data`` is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 26:
        return 0
    return data[24]


def orient(tensor: torch.Tensor, orientation: int) -> torch.Tensor:
    """Apply an EXIF orientation (1–8) to ``(C, H, W)``."""
    transforms = {
        2: lambda t: t.flip(-1),
        3: lambda t: t.flip(-1, -2),
        4: lambda t: t.flip(-2),
        5: lambda t: t.transpose(-1, -2),
        6: lambda t: t.transpose(-1, -2).flip(-1),
        7: lambda t: t.transpose(-1, -2).flip(-1, -2),
        8: lambda t: t.transpose(-1, -2).flip(-2),
    }
    return transforms[orientation](tensor).contiguous() if orientation in transforms else tensor


def _pixels_8bit(image: Image.Image) -> tuple[torch.Tensor, int, bool]:
    """``(channels, bit_depth, dropped_icc)`` for any Pillow image that is not a 16-bit PNG."""
    mode, dropped_icc = image.mode, False
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        array = np.asarray(image, dtype=np.uint16).astype(np.int32)
        return torch.from_numpy(array).unsqueeze(0), 16, False
    if mode in ("I", "F", "I;32"):
        raise ImageError(f"{mode} images (32-bit integer or float) are not supported; save as 8- or 16-bit")
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode == "1":
        image = image.convert("L")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        dropped_icc = mode == "CMYK"  # a CMYK profile does not describe the RGB result
        image = image.convert("RGBA" if "A" in mode else "RGB")
    return pil_to_tensor(image), 8, dropped_icc


def _pixels_png16(data: bytes) -> tuple[torch.Tensor, bool]:
    """``((C, H, W) int32, has_alpha)`` of a 16-bit PNG, read by pypng."""
    width, height, rows, info = png.Reader(bytes=data).asDirect()
    array = np.vstack([np.asarray(row, dtype=np.int32) for row in rows])
    planes = info["planes"]
    return torch.from_numpy(array.reshape(height, width, planes)).permute(2, 0, 1).contiguous(), info["alpha"]


def read_picture(source: Path | str) -> Picture:
    """Read an image file (or ``-`` for stdin); raises :class:`ImageError` with a clear line."""
    return decode_picture(_read_bytes(source), "stdin" if str(source) == STDIO else str(source))


@contextmanager
def _pixel_limit(trusted: bool) -> Iterator[None]:
    """Pillow's decompression-bomb guard as an error, or lifted for bytes srcli wrote itself."""
    saved = Image.MAX_IMAGE_PIXELS
    if trusted:
        Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def decode_picture(data: bytes, name: str, trusted: bool = False) -> Picture:
    """Decode image file bytes; ``name`` is used in error messages.

    ``trusted`` lifts the decompression-bomb guard, for files srcli has just written itself
    (a ×8 output can be larger than the guard allows an input to be).
    """
    if not data:
        raise ImageError(f"{name}: empty file")
    if is_tiff(data) and (picture := _decode_tiff16(data, name, trusted)):
        return picture
    try:
        with _pixel_limit(trusted):
            image = Image.open(io.BytesIO(data))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            f"{name}: image too large ({Image.MAX_IMAGE_PIXELS} pixels at most, a decompression bomb guard)"
        ) from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file srcli can read") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{name}: broken image file ({error})") from None
    if image.width < 1 or image.height < 1:
        raise ImageError(f"{name}: image has no pixels ({image.width}×{image.height})")
    icc, dpi = image.info.get("icc_profile"), image.info.get("dpi")
    exif = image.getexif()
    orientation = exif.get(EXIF_ORIENTATION, 1)
    if _png_bit_depth(data) == 16:
        try:
            channels, has_alpha = _pixels_png16(data)
        except (png.Error, ValueError, zlib.error) as error:
            raise ImageError(f"{name}: broken PNG ({error})") from None
        bit_depth, dropped_icc = 16, False
    else:
        channels, bit_depth, dropped_icc = _pixels_8bit(image)
        has_alpha = channels.shape[0] in (2, 4)
    channels = orient(channels, orientation)
    if orientation != 1:
        exif[EXIF_ORIENTATION] = 1
    return _split_alpha(
        channels,
        has_alpha,
        bit_depth=bit_depth,
        icc_profile=None if dropped_icc else icc,
        dpi=tuple(float(v) for v in dpi) if dpi else None,
        exif=exif.tobytes() if len(exif) else None,
        jpeg=data if data[:3] == b"\xff\xd8\xff" and not trusted else None,
        orientation=orientation if orientation in range(1, 9) else 1,
    )


def unorient(tensor: torch.Tensor, orientation: int) -> torch.Tensor:
    """Undo :func:`orient`: ``(C, H, W)`` as displayed → as stored in the file.

    Example:
        >>> x = torch.arange(6).view(1, 2, 3)
        >>> all(torch.equal(unorient(orient(x, o), o), x) for o in range(1, 9))
        True
    """
    inverse = {6: 8, 8: 6}.get(orientation, orientation)
    return orient(tensor, inverse)


def _split_alpha(channels: torch.Tensor, has_alpha: bool, **metadata: Any) -> Picture:
    """A :class:`Picture` of ``(C [+1], H, W)`` pixels whose last plane is alpha when ``has_alpha``."""
    color_count = channels.shape[0] - int(has_alpha)
    alpha = channels[color_count:].contiguous() if has_alpha else None
    return Picture(color=channels[:color_count].contiguous(), alpha=alpha, **metadata)


def _decode_tiff16(data: bytes, name: str, trusted: bool) -> Picture | None:
    """A 16-bit colour or gray + alpha TIFF, read by tifffile (:mod:`srcli.io.tiff16`); None for other TIFFs."""
    try:
        tiff = read_tiff16(data, None if trusted else Image.MAX_IMAGE_PIXELS)
    except Tiff16Error as error:
        raise ImageError(f"{name}: {error}") from None
    if tiff is None:
        return None
    channels = orient(tiff.channels, tiff.orientation)
    return _split_alpha(channels, tiff.has_alpha, bit_depth=16, icc_profile=tiff.icc_profile, dpi=tiff.dpi)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _encode_png16(picture: Picture, level: int) -> bytes:
    """A 16-bit PNG through pypng at zlib ``level``, with iCCP, pHYs and eXIf chunks added after IHDR."""
    channels = picture.channels()
    planes, height, width = channels.shape
    rows = channels.permute(1, 2, 0).reshape(height, width * planes).numpy().astype(np.uint16)
    buffer = io.BytesIO()
    writer = png.Writer(
        width, height, greyscale=planes in (1, 2), alpha=picture.alpha is not None, bitdepth=16, compression=level
    )
    writer.write(buffer, rows)
    encoded = buffer.getvalue()
    extra = b""
    if picture.icc_profile:
        extra += _png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(picture.icc_profile))
    if picture.dpi:
        per_metre = [round(v / 0.0254) for v in picture.dpi]
        extra += _png_chunk(b"pHYs", struct.pack(">IIB", per_metre[0], per_metre[1], 1))
    if picture.exif:
        exif = picture.exif[6:] if picture.exif.startswith(b"Exif\x00\x00") else picture.exif
        extra += _png_chunk(b"eXIf", exif)
    ihdr_end = 8 + 8 + 13 + 4
    return encoded[:ihdr_end] + extra + encoded[ihdr_end:]


PNG_LEVEL = 3
"""The zlib level of 16-bit PNGs unless asked otherwise (Pillow's own is 6): about 4× as fast as 6 for files about
6 % larger (benchmarks/results/png-level.md); 4–9 switch zlib to lazy matching, which costs far more time than it
saves bytes. Every level is lossless."""

PNG_RLE = 3
"""zlib's ``Z_RLE`` strategy (Pillow's ``compress_type``): 8-bit PNGs unless a level is asked for. On ×4 outputs it
encodes 1.5× as fast as level 3 and writes 2.5 % fewer bytes (benchmarks/results/png-level.md): after PNG's row
filters an SR output's bytes repeat in runs, which zlib's string matching searches for at a far greater cost."""

JPEG_SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0")
"""The chroma subsamplings a JPEG can be written with."""


LOSSY_FORMATS = ("JPEG", "WEBP")
"""The formats a ``quality`` applies to (WebP is lossless without one)."""
JPEG_QUALITY = 95
"""A JPEG's quality where none is asked for."""


def encode_picture(
    picture: Picture,
    suffix: str,
    quality: int | None = None,
    subsampling: str | None = None,
    png_level: int | None = None,
) -> bytes:
    """The file bytes for ``picture`` in the format of ``suffix`` (``.png``, ``.jpg``, ...); a JPEG at ``quality``
    (None: :data:`JPEG_QUALITY`) with ``subsampling`` (one of :data:`JPEG_SUBSAMPLINGS`; None: Pillow's default,
    4:2:0); a WebP lossless, or lossy at ``quality`` where one is given; a PNG at zlib level ``png_level`` (0–9;
    None: run-length matching, :data:`PNG_RLE`, at 8 bits and :data:`PNG_LEVEL` at 16), the same pixels at every
    level."""
    level = PNG_LEVEL if png_level is None else png_level  # the 8-bit default is PNG_RLE (below)
    if not 0 <= level <= 9:
        raise ImageError(f"PNG compression level must be in 0..9, got {level}")
    image_format = SAVE_FORMATS.get(suffix.lower())
    if image_format is None:
        raise ImageError(f"unknown output format {suffix!r}; use one of {', '.join(sorted(SAVE_FORMATS))}")
    if picture.bit_depth == 16 and image_format == "PNG":
        return _encode_png16(picture, level)
    if picture.bit_depth == 16 and image_format == "TIFF" and len(channels := picture.channels()) > 1:
        return encode_tiff16(channels, picture.alpha is not None, picture.icc_profile, picture.dpi)
    if picture.bit_depth == 16:
        if image_format != "TIFF":
            raise ImageError(f"16-bit {picture.mode.split()[0]} cannot be written as {image_format}; use .png or .tiff")
        little_endian = picture.color[0].numpy().astype("<u2")
        image = Image.frombytes("I;16", (picture.width, picture.height), little_endian.tobytes())
    else:
        image = tensor_to_pil(picture.channels())
    if image_format == "JPEG" and picture.alpha is not None:
        raise ImageError("JPEG cannot hold alpha; use .png, .webp or .tiff")
    options: dict[str, object] = {}
    if picture.icc_profile:
        options["icc_profile"] = picture.icc_profile
    if picture.dpi and image_format != "WEBP":
        options["dpi"] = picture.dpi
    if picture.exif and image_format in ("JPEG", "PNG", "WEBP", "TIFF"):
        options["exif"] = picture.exif
    if image_format == "JPEG":
        options["quality"] = JPEG_QUALITY if quality is None else quality
        if subsampling is not None:
            options["subsampling"] = subsampling
    if image_format == "PNG":
        options["compress_level"] = level
        if png_level is None:
            options["compress_type"] = PNG_RLE
    if image_format == "WEBP" and quality is None:
        options["lossless"] = True  # lossy WebP would break exact consistency
    elif image_format == "WEBP":
        options["quality"] = quality
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def is_image_suffix(suffix: str) -> bool:
    """Whether a file extension (``.gif``) names an image format, one srcli writes or any other Pillow knows."""
    return suffix.lower() in SAVE_FORMATS or suffix.lower() in Image.registered_extensions()


def write_picture(
    picture: Picture,
    target: Path | str,
    overwrite: bool,
    suffix: str | None = None,
    quality: int | None = None,
    subsampling: str | None = None,
    png_level: int | None = None,
) -> None:
    """Encode ``picture`` by the target's suffix (or ``suffix`` for stdout) and write it atomically; JPEG and PNG
    options as :func:`encode_picture`."""
    data = encode_picture(picture, suffix or Path(target).suffix, quality, subsampling, png_level)
    write_bytes_atomic(data, target, overwrite)


# Pillow must not silently accept truncated files.
ImageFile.LOAD_TRUNCATED_IMAGES = False
