"""Block compressed sensing: sample an image, reconstruct it through a network and PD.

Images are handled in [0, 1]. Sampling pads the image by reflection to whole 32×32 blocks;
reconstruction works on the padded grid in tiles of whole blocks, applies PD per tile in
float64 (so ``A x̂ = y`` holds to ~1e-15) and crops back to the image size.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from srcli.archs import Model
from srcli.checkpoints.resolve import cs_model
from srcli.errors import ImageError
from srcli.io.csfile import SensingInfo, read_measurements, rows_fingerprint, write_measurements
from srcli.io.images import Picture, decode_picture, encode_picture, read_picture
from srcli.maths.metrics import psnr_from_mse
from srcli.maths.operators import BlockCS, pad_to_multiple
from srcli.tasks.batch import Job
from srcli.tasks.run import RunOptions, TileCallback, Timings, fill_tiles

FLOAT_SUFFIXES = (".tif", ".tiff")
DEFAULT_TILE_BLOCKS = 32
"""Tile side in blocks (1024 pixels): activations of a few tens of MB, and little overlap work."""


def sample_picture(picture: Picture, ratio: float, seed: int, block: int = 32) -> tuple[torch.Tensor, SensingInfo]:
    """Measurements ``(C·M, h, w)`` float32 of a picture's colour (alpha is not measured)."""
    operator = BlockCS(ratio, block, seed)
    image = picture.color.unsqueeze(0).to(torch.float64) / picture.max_value
    padded = pad_to_multiple(image, block)
    values = operator.A(padded)[0].to(torch.float32)
    info = SensingInfo(
        ratio=ratio,
        block=block,
        seed=seed,
        m=operator.m,
        height=picture.height,
        width=picture.width,
        padded_height=padded.shape[-2],
        padded_width=padded.shape[-1],
        channels=picture.color.shape[0],
        bit_depth=picture.bit_depth,
        rows_sha256=rows_fingerprint(operator),
    )
    return values, info


def sample_file(source: Path, target: Path, ratio: float, seed: int, overwrite: bool) -> dict[str, Any]:
    """``srcli cs sample``: read, measure, write the measurement file; returns the JSON record."""
    picture = read_picture(source)
    values, info = sample_picture(picture, ratio, seed)
    write_measurements(values, info, target, overwrite)
    return {
        "input": str(source),
        "output": str(target),
        "task": "cs-sample",
        "ratio": ratio,
        "seed": seed,
        "measurements_per_block": info.m,
        "input_size": [info.width, info.height],
        "padded_size": [info.padded_width, info.padded_height],
        "channels": info.channels,
        "bit_depth": info.bit_depth,
        "alpha_dropped": picture.alpha is not None,
        "values": values.numel(),
    }


def measurement_psnr(image: torch.Tensor, values: torch.Tensor, operator: BlockCS) -> float:
    """PSNR (peak 1) between ``A(image)`` and ``values``; image ``(C, H, W)`` padded, in [0, 1]."""
    residual = operator.A(image.unsqueeze(0).to(torch.float64))[0] - values.to(torch.float64)
    return psnr_from_mse(residual.square().mean().item(), 1.0)


def reconstruct(
    values: torch.Tensor,
    info: SensingInfo,
    net: torch.nn.Module,
    options: RunOptions,
    on_tile: TileCallback | None = None,
    timings: Timings | None = None,
) -> torch.Tensor:
    """The float64 estimate ``(C, padded H, padded W)`` in about [0, 1], PD'd per tile unless ``options.pd`` is off."""
    timings = timings if timings is not None else Timings()
    operator = info.operator()
    tile = options.tile if options.tile is not None else DEFAULT_TILE_BLOCKS * info.block
    tile_blocks = 0 if tile <= 0 else max(1, tile // info.block)
    out = torch.empty((info.channels, info.padded_height, info.padded_width), dtype=torch.float64)
    net.to(options.device, options.dtype)

    def run(window: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return net(window.to(options.device, options.dtype)).to("cpu", torch.float64)

    def finish(core: torch.Tensor, measured: torch.Tensor, target: torch.Tensor) -> None:
        target.copy_(operator.project(core, measured.to(torch.float64)) if options.pd else core)

    fill_tiles(run, values.unsqueeze(0), values, out, finish, tile_blocks, 1, info.block, timings, on_tile)
    timings.tiles.append(tile_blocks * info.block if tile_blocks else max(info.padded_height, info.padded_width))
    return out


def _saved_image(data: bytes, suffix: str, name: str) -> torch.Tensor:
    """The saved file read back, ``(C, H, W)`` float64 in [0, 1]."""
    if suffix in FLOAT_SUFFIXES:
        import tifffile

        array = tifffile.imread(io.BytesIO(data))
        array = array[..., None] if array.ndim == 2 else array
        return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).to(torch.float64)
    saved = decode_picture(data, name, trusted=True)
    return saved.color.to(torch.float64) / saved.max_value


def encode_reconstruction(estimate: torch.Tensor, info: SensingInfo, suffix: str) -> bytes:
    """File bytes: float32 TIFF keeps the float estimate; other formats round it to the input's depth."""
    image = estimate[:, : info.height, : info.width]
    if suffix in FLOAT_SUFFIXES:
        import tifffile

        buffer = io.BytesIO()
        array = image.to(torch.float32).permute(1, 2, 0).contiguous().numpy()
        photometric = "rgb" if info.channels == 3 else "minisblack"
        tifffile.imwrite(buffer, array.squeeze(-1) if info.channels == 1 else array, photometric=photometric)
        return buffer.getvalue()
    max_value = (1 << info.bit_depth) - 1
    levels = (image * max_value).round().clamp(0, max_value)
    color = levels.to(torch.uint8 if info.bit_depth == 8 else torch.int32)
    return encode_picture(Picture(color=color, alpha=None, bit_depth=info.bit_depth), suffix)


def saved_consistency(
    estimate: torch.Tensor, info: SensingInfo, values: torch.Tensor, data: bytes, suffix: str, name: str
) -> dict[str, float]:
    """The measurement consistency of the float ``estimate`` and of the saved file ``data``.

    The padding that made whole blocks lies outside the file, so the saved file is measured with
    its pixels in place of the estimate's and the estimate's padding around them: the figure is
    what storing the pixels (rounding, clipping, float32) costs.
    """
    operator = info.operator()
    saved = estimate.clone()
    saved[:, : info.height, : info.width] = _saved_image(data, suffix, name)
    return {
        "consistency_psnr_db": measurement_psnr(estimate, values, operator),
        "saved_consistency_psnr_db": measurement_psnr(saved, values, operator),
    }


@dataclass(frozen=True)
class Reconstruct:
    """The CS reconstruction task of :func:`srcli.tasks.run.run_file`: a measurement file in, an image out.

    The model is resolved when the measurements are read (``spec`` None: the shipped one for their ratio).
    """

    spec: str | None
    options: RunOptions
    name: str = "cs"

    def read(self, source: str) -> tuple[torch.Tensor, SensingInfo, Model]:
        values, info = read_measurements(Path(source))
        return values, info, cs_model(self.spec, info.ratio, info.seed)

    def check_target(self, job: Job, overwrite: bool) -> None:
        """Refuse early (before any work) to write over a file, or to a format that cannot hold the result."""
        target = Path(job.target)
        if target.exists() and not overwrite:
            raise ImageError(f"{target}: exists (pass --overwrite to replace it)")
        if target.suffix.lower() in (".jpg", ".jpeg"):
            raise ImageError(f"{target}: JPEG would add its own error to the reconstruction; use .png or .tiff")

    def restore(
        self, item: tuple[torch.Tensor, SensingInfo, Model], timings: Timings, on_tile: TileCallback | None
    ) -> tuple[torch.Tensor, SensingInfo]:
        values, info, model = item
        return reconstruct(values, info, model.net, self.options, on_tile, timings), info

    def encode(self, result: tuple[torch.Tensor, SensingInfo], suffix: str) -> tuple[bytes, torch.Tensor]:
        estimate, info = result
        return encode_reconstruction(estimate, info, suffix.lower()), estimate  # the record measures both

    def record(
        self, item: tuple[torch.Tensor, SensingInfo, Model], data: bytes, kept: torch.Tensor, job: Job
    ) -> dict[str, Any]:
        values, info, model = item
        suffix = Path(job.target).suffix.lower()
        return {
            **model.as_json(),
            "ratio": info.ratio,
            "seed": info.seed,
            "output_size": [info.width, info.height],
            "bit_depth": 32 if suffix in FLOAT_SUFFIXES else info.bit_depth,
            **saved_consistency(kept, info, values, data, suffix, job.target),
        }
