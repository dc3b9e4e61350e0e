"""The commands on images in memory, for the Python API (:mod:`srcli`): a PIL image in, a PIL image out.

Each runs the command line's own task (:mod:`srcli.tasks.run`'s ``read``, ``restore``, ``encode``) on the image
saved as PNG, and opens the PNG it encodes, so a call gives the pixels ``srcli upscale`` (``colorize``) would
save for the same image and options.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from srcli.errors import ImageError, OptionError
from srcli.io.images import Picture, decode_picture, encode_picture
from srcli.maths.operators import AvgPool
from srcli.tasks.check import check_pictures
from srcli.tasks.colorize import colorize_task
from srcli.tasks.run import FileTask, RunOptions, Timings, resolve_device
from srcli.tasks.upscale import planned_upscale


def png_bytes(image: Image.Image) -> bytes:
    """``image`` as a PNG file, with its ICC profile."""
    if not isinstance(image, Image.Image):
        raise ImageError(f"expected a PIL image, got {type(image).__name__}")
    buffer = io.BytesIO()
    profile = image.info.get("icc_profile")
    image.save(buffer, format="PNG", **({"icc_profile": profile} if profile else {}))
    return buffer.getvalue()


def picture_of(image: Image.Image) -> Picture:
    """A PIL image as the engine's :class:`srcli.io.images.Picture` (as if read from a PNG file)."""
    return decode_picture(png_bytes(image), "image", trusted=True)


def image_of(data: bytes) -> Image.Image:
    """The PIL image of an encoded file, loaded."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def run_options(
    device: str = "auto", tile: int | None = None, tile_overlap: int | None = None, half: bool = False,
    pd: bool = True, ensemble: bool = False,
) -> RunOptions:  # fmt: skip
    """The engine's :class:`srcli.tasks.run.RunOptions`, checked."""
    resolved = resolve_device(device)
    if half and resolved.type != "cuda":
        raise OptionError("needs a CUDA device", parameter="half")
    if (tile is not None and tile < 0) or (tile_overlap is not None and tile_overlap < 0):
        raise OptionError("tile and tile_overlap must not be negative")
    return RunOptions(device=resolved, tile=tile, overlap=tile_overlap, half=half, pd=pd, ensemble=ensemble)


def run_on_image(task: FileTask, image: Image.Image) -> Image.Image:
    """Run a file task on ``image``: read from PNG, restored, encoded as PNG, opened again."""
    with tempfile.TemporaryDirectory(prefix="srcli-") as folder:
        source = Path(folder) / "image.png"
        source.write_bytes(png_bytes(image))
        item = task.read(str(source))
    result = task.restore(item, Timings(), None)
    data, _ = task.encode(result, ".png")
    return image_of(data)


def upscale_image(
    image: Image.Image,
    scale: int | None = 4,
    model: str | None = None,
    realism: float | None = None,
    degradation: str = "box",
    noise: float = 0.0,
    **options: Any,
) -> Image.Image:
    """``srcli upscale`` of one image (see :func:`srcli.upscale`)."""
    _, task = planned_upscale(run_options(**options), model, scale, degradation, realism, noise)
    return run_on_image(task, image)


def colorize_image(
    image: Image.Image,
    model: str | None = None,
    gray: str = "mean",
    temperature: float | None = None,
    saturation: float | None = None,
    vividness: float | None = None,
    **options: Any,
) -> Image.Image:
    """``srcli colorize`` of one image (see :func:`srcli.colorize`)."""
    task = colorize_task(model, gray, run_options(**options), temperature, saturation, vividness)
    return run_on_image(task, image)


def check_images_in_memory(
    sr: Image.Image, lr: Image.Image, scale: int | None = None, downsampler: str = "auto"
) -> dict[str, Any]:
    """``srcli check`` of two images (see :func:`srcli.check`)."""
    outcome = check_pictures(picture_of(sr), picture_of(lr), "auto" if scale is None else str(scale), downsampler)
    return {
        "scale": outcome.scale,
        "downsampler": outcome.chosen.method,
        **outcome.chosen.as_json(),
        "downsamplers": {result.method: result.as_json() for result in outcome.results},
    }


def project_image(sr: Image.Image, lr: Image.Image) -> Image.Image:
    """PD of ``sr`` onto the images whose s×s box means are ``lr``, quantised exactly (see :func:`srcli.project`)."""
    sr_picture, lr_picture = picture_of(sr), picture_of(lr)
    if sr_picture.channels().shape[0] != lr_picture.channels().shape[0] or sr_picture.bit_depth != lr_picture.bit_depth:
        raise ImageError(f"sr is {sr_picture.mode} but lr is {lr_picture.mode}: give both in one mode")
    scale = sr_picture.width // lr_picture.width
    if scale < 2 or (lr_picture.width * scale, lr_picture.height * scale) != (sr_picture.width, sr_picture.height):
        raise ImageError(
            f"sr {sr_picture.width}×{sr_picture.height} is not an integer multiple (≥ 2) of "
            f"lr {lr_picture.width}×{lr_picture.height}"
        )
    work = torch.float64 if sr_picture.bit_depth > 8 else torch.float32
    estimate = sr_picture.channels().to(work).unsqueeze(0)
    projected = AvgPool(scale).quantize(estimate, lr_picture.channels().unsqueeze(0), lr_picture.max_value)
    return image_of(encode_picture(sr_picture.with_channels(projected[0].to(sr_picture.color.dtype)), ".png"))
