"""Super-resolution of one picture: tiles → network → correction → exact PD (``AvgPool.quantize``) → integer picture.

The network sees ``[0, 1]`` floats. With the smooth correction (:func:`srcli.ops.smooth_right_inverse`)
each tile's whole window is projected smoothly against its LR, so the correction at a core sees the
same neighbourhood it would untiled; then exact nearest PD and quantisation work in level units
(``[0, max_value]``) against the integer input, tile core by tile core, and only move the float
rounding and the clipped blocks. Alpha and gray go through the RGB network as replicated RGB and come
back as the mean of the three.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from srcli.archs import Model
from srcli.ensemble import SelfEnsemble
from srcli.errors import OptionError
from srcli.imageio import Picture, decode_picture, encode_picture, read_picture
from srcli.ops import CORRECTIONS, AvgPool, pad_to_multiple, smooth_radius
from srcli.tasks.batch import Job
from srcli.tasks.check import box_consistency
from srcli.tasks.run import RunOptions, TileCallback, Timings, fill_tiles
from srcli.tiling import MIN_TILE, auto_tile

OVERLAP_CAP = 32
"""LR pixels of context at most, when the overlap follows the receptive radius (RRDBNet's is 349):
a 64-pixel tile then costs (64 + 2·32)² / 64² = 4 tiles' work."""


TILED_PSNR_FLOOR_DB: dict[str, float] = {"rrdbnet": 49.8, "compact": 96.9}
"""Per architecture whose receptive radius can exceed :data:`OVERLAP_CAP`: the lowest PSNR of a tiled upscale
against the untiled one with the default overlap and feather at tile 64, over 8 BSD68 images
(``benchmarks/tile_seams.py``: Real-ESRGAN x4plus, 23 blocks; realesr-animevideov3, 16 convolutions, with
the smooth correction); the report states it where tiles differ from the untiled picture. Smaller tiles
have more seams."""


def stage_correction(model: Model, options: RunOptions) -> str:
    """The right inverse this stage corrects with: the one asked for, else the model's own."""
    correction = options.correction or model.correction
    if correction not in CORRECTIONS:
        raise OptionError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    return correction


def needed_overlap(model: Model, options: RunOptions) -> int:
    """Context that makes a tile's core what the untiled picture gives: the network's receptive radius,
    plus the smooth correction's reach where it runs."""
    smooth = options.pd and stage_correction(model, options) == "smooth"
    return model.receptive_radius + (smooth_radius() if smooth else 0)


def stage_overlap(model: Model, options: RunOptions) -> int:
    """The tile overlap this stage runs with: the one asked for, else :func:`needed_overlap` up to
    :data:`OVERLAP_CAP`."""
    return options.overlap if options.overlap is not None else min(needed_overlap(model, options), OVERLAP_CAP)


def stage_feather(model: Model, options: RunOptions) -> int:
    """LR pixels each side of a core border over which neighbouring windows are blended: none where the
    overlap covers :func:`needed_overlap` (tiles are then the untiled picture), else half the overlap, so
    the blend stays as far from the window's edge as the smooth correction reaches (32 − 16 = 16)."""
    if options.feather is not None:
        return options.feather
    overlap = stage_overlap(model, options)
    return 0 if overlap >= needed_overlap(model, options) else overlap // 2


def _to_rgb_batch(window: torch.Tensor) -> torch.Tensor:
    """``(1, C, h, w)`` → ``(N, 3, h, w)``: colour as RGB, a gray or alpha channel replicated to RGB."""
    channels = window.shape[1]
    parts = [window[:, :3]] if channels >= 3 else [window[:, :1].expand(-1, 3, -1, -1)]
    if channels in (2, 4):
        parts.append(window[:, -1:].expand(-1, 3, -1, -1))
    return torch.cat(parts)


def _from_rgb_batch(output: torch.Tensor, channels: int) -> torch.Tensor:
    """Inverse of :func:`_to_rgb_batch`: ``(N, 3, H, W)`` → ``(1, C, H, W)`` (gray = mean of RGB)."""
    parts = [output[:1]] if channels >= 3 else [output[:1].mean(1, keepdim=True)]
    if channels in (2, 4):
        parts.append(output[1:2].mean(1, keepdim=True))
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)  # no copy for plain RGB or gray


def network_estimate(model: Model, window: torch.Tensor, options: RunOptions) -> torch.Tensor:
    """``(1, C, h, w)`` float in [0, 1] (CPU) → ``(1, C, s·h, s·w)`` float32 estimate (CPU), unclamped."""
    height, width = window.shape[-2:]
    batch = pad_to_multiple(_to_rgb_batch(window), model.input_multiple)
    batch = batch.to(options.device, options.dtype, memory_format=torch.channels_last)
    net = SelfEnsemble(model.net) if options.ensemble else model.net
    with torch.inference_mode():
        output = net(batch).float().cpu()
    output = output[..., : height * model.scale, : width * model.scale]
    return _from_rgb_batch(output, window.shape[1])


def _upscale_tiles(
    lr: torch.Tensor,
    max_value: int,
    model: Model,
    options: RunOptions,
    tile: int,
    on_tile: TileCallback | None,
    timings: Timings,
) -> torch.Tensor:
    channels, height, width = lr.shape
    s = model.scale
    operator = AvgPool(s)  # the exact finish; a smooth correction has run on the window before
    smooth = AvgPool(s, "smooth") if options.pd and stage_correction(model, options) == "smooth" else None
    out = torch.empty((channels, height * s, width * s), dtype=torch.uint8 if max_value == 255 else torch.int32)

    def finish(core: torch.Tensor, measured: torch.Tensor, target: torch.Tensor) -> None:
        if options.pd:
            operator.quantize(core, measured, max_value, unit=max_value, out=target)
        else:
            target.copy_((core * max_value).round_().clamp_(0, max_value))

    def run(window: torch.Tensor) -> torch.Tensor:
        estimate = network_estimate(model, window, options)
        return smooth.project(estimate, window) if smooth is not None else estimate

    x = lr.unsqueeze(0).to(torch.float32) / max_value
    overlap = stage_overlap(model, options)
    feather = stage_feather(model, options)
    return fill_tiles(run, x, lr, out, finish, tile, overlap, s, timings, on_tile, feather)


def upscale_picture(
    picture: Picture,
    model: Model,
    options: RunOptions,
    on_tile: TileCallback | None = None,
    timings: Timings | None = None,
) -> Picture:
    """One SR stage: a picture ×``model.scale``, every channel (alpha too) exactly consistent with PD.

    On CUDA out-of-memory the tile side is halved and the picture started again.
    """
    timings = timings if timings is not None else Timings()
    # channels-last convolutions run about 1.6× faster on CPU (measured on the shipped compact net)
    model.net.to(options.device, options.dtype, memory_format=torch.channels_last)  # type: ignore[call-overload]
    if options.tile is None and model.whole:
        tile = max(picture.height, picture.width)
    elif options.tile is None:
        tile = auto_tile(options.device, model.features, model.scale)
    else:
        tile = options.tile if options.tile > 0 else max(picture.height, picture.width)
    while True:
        try:
            out = _upscale_tiles(picture.channels(), picture.max_value, model, options, tile, on_tile, timings)
            timings.tiles.append(tile)
            return picture.with_channels(out)
        except torch.cuda.OutOfMemoryError:
            if tile // 2 < MIN_TILE:
                raise OptionError(
                    f"out of GPU memory even with {MIN_TILE}-pixel tiles; run on the CPU (device cpu)"
                ) from None
            tile //= 2
            torch.cuda.empty_cache()


@dataclass(frozen=True)
class Upscale:
    """The SR task of :func:`srcli.tasks.run.run_file`: one or more stages (a ×8 cascade is ×2 then ×4)."""

    stages: list[Model]
    options: RunOptions
    name: str = "sr"
    split: list[bool] = field(default_factory=list, compare=False)  # per stage of the last file: ran in tiles

    def read(self, source: str) -> Picture:
        return read_picture(source)

    def check_target(self, job: Job, overwrite: bool) -> None:
        job.refuse_existing_target(overwrite)

    def restore(self, item: Picture, timings: Timings, on_tile: TileCallback | None) -> Picture:
        picture = item
        self.split.clear()
        for stage in self.stages:
            self.split.append(False)
            upscaled = upscale_picture(picture, stage, self.options, on_tile, timings)
            self.split[-1] = timings.tiles[-1] < max(picture.height, picture.width)
            picture = upscaled
        return picture

    def encode(self, result: Picture, suffix: str) -> tuple[bytes, None]:
        return encode_picture(result, suffix), None

    def _tiling(self) -> dict[str, object]:
        """What the report says of tiling: overlap and feather per stage, whether the result is the untiled
        one (one tile, or an overlap that covers :func:`needed_overlap`), and where it is not, the lowest
        tiled-vs-untiled PSNR measured for the architecture (:data:`TILED_PSNR_FLOOR_DB`), or None."""
        overlaps, feathers, exact, floors = [], [], [], []
        for stage, split in zip(self.stages, self.split, strict=True):
            overlaps.append(stage_overlap(stage, self.options))
            feathers.append(stage_feather(stage, self.options) if split else 0)
            exact.append(not split or overlaps[-1] >= needed_overlap(stage, self.options))
            if not exact[-1]:
                floors.append(TILED_PSNR_FLOOR_DB.get(stage.arch))
        known = [floor for floor in floors if floor is not None]
        return {
            "tile_overlap": overlaps,
            "tile_feather": feathers,
            "tiles_as_untiled": all(exact),
            "tiled_psnr_floor_db": min(known) if floors and len(known) == len(floors) else None,
        }

    def record(self, item: Picture, data: bytes, kept: None, job: Job) -> dict[str, Any]:
        saved = decode_picture(data, job.target, trusted=True)
        scale = saved.width // item.width
        verdict = box_consistency(saved.channels(), item.channels(), scale, item.max_value)
        return {
            "model": " → ".join(stage.name for stage in self.stages),
            "arch": " → ".join(stage.arch for stage in self.stages),
            "parameters": sum(stage.parameters for stage in self.stages),
            "scale": scale,
            "correction": " → ".join(stage_correction(stage, self.options) for stage in self.stages)
            if self.options.pd
            else None,
            **self._tiling(),
            "input_size": [item.width, item.height],
            "output_size": [saved.width, saved.height],
            "mode": item.mode,
            **verdict.as_json(),
        }
