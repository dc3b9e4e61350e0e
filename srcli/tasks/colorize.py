"""Colorizing one picture: gray → tiles → network → PD + exact quantisation → RGB picture.

Two gray operators (``srcli.maths.operators.Gray``): ``mean`` (the channel mean; the saved file's
per-pixel mean equals the input gray exactly, at 8 or 16 bits) and ``bt601`` (Pillow's own
``convert("L")`` of the saved 8-bit file equals the input byte for byte).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, cast

import torch

from srcli.archs import Model
from srcli.archs.colornet import ColorNet
from srcli.archs.colorunet import ColorUNet
from srcli.checkpoints.resolve import colorize_model
from srcli.errors import ImageError, OptionError
from srcli.io.images import Picture, decode_picture, encode_picture, read_picture
from srcli.maths.exact import pillow_luma
from srcli.maths.metrics import colourfulness, psnr
from srcli.maths.operators import Gray, pad_to_multiple
from srcli.maths.tiling import auto_tile
from srcli.tasks.batch import Job
from srcli.tasks.run import RunOptions, TileCallback, Timings, fill_tiles

GRAY_MODES = ("mean", "bt601")
DEFAULT_OVERLAP = 48
"""Context around each tile, pixels: more than the shipped net's receptive radius (40)."""


def gray_of(picture: Picture, mode: str) -> torch.Tensor:
    """The gray ``(1, H, W)`` integers a picture stands for: itself if gray, else its gray under ``mode``
    (the channel mean rounded half up, or Pillow's ``convert("L")``)."""
    if mode not in GRAY_MODES:
        raise OptionError(f"gray must be one of {', '.join(GRAY_MODES)}, got {mode!r}")
    if mode == "bt601" and picture.bit_depth != 8:
        raise ImageError("--gray bt601 is Pillow's 8-bit convert('L'); use --gray mean for 16-bit images")
    if picture.color.shape[0] == 1:
        return picture.color
    if mode == "bt601":
        return pillow_luma(picture.color.unsqueeze(0))[0].to(picture.color.dtype)
    total = picture.color.to(torch.int64).sum(0, keepdim=True)
    return torch.div(2 * total + 3, 6, rounding_mode="floor").to(picture.color.dtype)  # ⌊mean + ½⌋


def colorize_gray(
    gray: torch.Tensor,
    max_value: int,
    model: Model,
    mode: str,
    options: RunOptions,
    on_tile: TileCallback | None = None,
    timings: Timings | None = None,
) -> torch.Tensor:
    """Integer gray ``(1, H, W)`` → integer RGB ``(3, H, W)`` (same dtype) whose gray is the input exactly."""
    timings = timings if timings is not None else Timings()
    net = model.net.to(options.device, options.dtype)
    _, height, width = gray.shape
    if options.tile is None:
        tile = max(height, width) if model.whole else 2 * auto_tile(options.device, model.features, 1)
    else:
        tile = options.tile if options.tile > 0 else max(height, width)
    multiple = model.input_multiple
    tile = max(multiple, tile // multiple * multiple)
    overlap = -(-(options.overlap if options.overlap is not None else DEFAULT_OVERLAP) // multiple) * multiple
    operator = Gray(mode)
    out = torch.empty((3, height, width), dtype=gray.dtype)

    def run(window: torch.Tensor) -> torch.Tensor:
        h, w = window.shape[-2:]
        batch = pad_to_multiple(window, multiple).to(options.device, options.dtype)
        with torch.inference_mode():
            return net(batch).float().cpu()[..., :h, :w]

    def finish(core: torch.Tensor, measured: torch.Tensor, target: torch.Tensor) -> None:
        if options.pd:
            target.copy_(operator.quantize(core, measured, max_value, unit=max_value))
        else:
            target.copy_((core * max_value).round().clamp(0, max_value))

    x = gray.unsqueeze(0).to(torch.float32) / max_value
    fill_tiles(run, x, gray, out, finish, tile, overlap, 1, timings, on_tile)
    timings.tiles.append(tile)
    return out


def gray_consistency(saved: Picture, gray: torch.Tensor, mode: str) -> dict[str, Any]:
    """The two consistency figures of DESIGN §4 for a colorization: the float PSNR of the saved
    file's gray (weighted channel sum, no rounding) against the input, and whether the gray an
    editor would make of it (the rounded mean, or Pillow's ``convert("L")``) equals the input."""
    rgb = saved.color.to(torch.float64)
    if mode == "mean":  # (R + G + B − 3·gray) / 3: an exact zero when the mean is the gray
        error = (rgb.sum(0, keepdim=True) - 3 * gray.to(torch.float64)) / 3
    else:
        error = sum(w * channel for w, channel in zip((0.299, 0.587, 0.114), rgb, strict=True)) - gray
    value = psnr(error, torch.zeros_like(error), float(saved.max_value))
    exact = bool(torch.equal(gray_of(saved, mode), gray))
    return {"consistency_psnr_db": None if math.isinf(value) else round(value, 4), "consistency_exact": exact}


@dataclass(frozen=True)
class Colorize:
    """The colorization task of :func:`srcli.tasks.run.run_file`; ``mode`` is the gray operator."""

    model: Model
    mode: str
    options: RunOptions
    name: str = "colorize"

    def with_options(self, options: RunOptions) -> Colorize:
        """This task on ``options`` with the same model, not loaded again: a side-by-side thread's or a Ray worker's
        (which gets it pickled)."""
        return dataclasses.replace(self, options=options)

    def read(self, source: str) -> tuple[Picture, torch.Tensor]:
        picture = read_picture(source)
        return picture, gray_of(picture, self.mode)

    def check_target(self, job: Job, overwrite: bool) -> None:
        job.refuse_existing_target(overwrite)

    def restore(self, item: tuple[Picture, torch.Tensor], timings: Timings, on_tile: TileCallback | None) -> Picture:
        source, gray = item
        color = colorize_gray(gray, source.max_value, self.model, self.mode, self.options, on_tile, timings)
        return Picture(color, source.alpha, source.bit_depth, source.icc_profile, source.dpi, source.exif)

    def encode(self, result: Picture, suffix: str) -> tuple[bytes, None]:
        return encode_picture(result, suffix, self.options.quality, png_level=self.options.png_level), None

    def record(self, item: tuple[Picture, torch.Tensor], data: bytes, kept: None, job: Job) -> dict[str, Any]:
        source, gray = item
        saved = decode_picture(data, job.target, trusted=True)
        return {
            **self.model.as_json(),
            "gray": self.mode,
            "converted_from_rgb": source.color.shape[0] == 3,
            "input_size": [source.width, source.height],
            "output_size": [saved.width, saved.height],
            "mode": source.mode,
            "colourfulness": round(colourfulness(saved.color * (255 / saved.max_value)), 2),
            **gray_consistency(saved, gray, self.mode),
        }


VIVID_TEMPERATURE = 0.4
"""The temperature vividness 1 reaches at most: near the likeliest colour (Zhang et al. 2016 use 0.38)."""
VIVID_SATURATION = 1.5
"""How many times the calibrated chroma vividness 1 gives: past where the colours stop paying in PSNR."""
TEMPERATURES = (0.01, 100.0)
"""Colour temperatures from nearly the most likely colour (0.01) to nearly the mean of all (100)."""
SATURATIONS = (0.0, 10.0)
"""Chroma scales from gray (0) to ten times the network's chroma, where nearly every colour clips."""


def vivid_decoding(vividness: float, temperature: float, saturation: float) -> tuple[float, float]:
    """The ``(temperature, saturation)`` at ``vividness`` in [0, 1], from a model's calibrated decoding at 0 to
    :data:`VIVID_SATURATION` times its chroma, annealed to :data:`VIVID_TEMPERATURE` (where it is above), at 1;
    both geometrically, so colour grows with the dial.

    Example:
        >>> vivid_decoding(0.0, 0.7, 0.5), vivid_decoding(1.0, 0.7, 0.5), vivid_decoding(1.0, 0.3, 2.0)
        ((0.7, 0.5), (0.4, 0.75), (0.3, 3.0))
    """
    bold = min(temperature, VIVID_TEMPERATURE)
    return temperature * (bold / temperature) ** vividness, saturation * VIVID_SATURATION**vividness


def colorize_task(
    spec: str | None,
    mode: str,
    options: RunOptions,
    temperature: float | None = None,
    saturation: float | None = None,
    vividness: float | None = None,
) -> Colorize:
    """The colorization task with the model ``spec`` (None: the shipped one) loaded, its ``temperature`` and
    ``saturation`` set where given, or both by ``vividness`` (:func:`vivid_decoding`; checked first)."""
    if vividness is not None and not 0 <= vividness <= 1:
        raise OptionError(f"must be in [0, 1], got {vividness}", "vividness")
    if vividness is not None and (temperature is not None or saturation is not None):
        raise OptionError("sets temperature and saturation: give either it or them", "vividness")
    if temperature is not None and not TEMPERATURES[0] <= temperature <= TEMPERATURES[1]:
        raise OptionError(f"must be in [{TEMPERATURES[0]}, {TEMPERATURES[1]}], got {temperature}", "temperature")
    if saturation is not None and not SATURATIONS[0] <= saturation <= SATURATIONS[1]:
        raise OptionError(f"must be in [{SATURATIONS[0]}, {SATURATIONS[1]}], got {saturation}", "saturation")
    chosen = colorize_model(spec)
    net = cast(ColorNet | ColorUNet, chosen.net)
    if vividness is not None:
        temperature, saturation = vivid_decoding(vividness, float(net.temperature), float(net.saturation))
    if temperature is not None:
        net.temperature.fill_(temperature)
    if saturation is not None:
        net.saturation.fill_(saturation)
    return Colorize(chosen, mode, options)
