"""Super-resolution of one picture: tiles → network → correction → exact PD (``AvgPool.quantize``) → integer picture.

The network sees ``[0, 1]`` floats. With the smooth correction (:func:`srcli.maths.operators.smooth_right_inverse`)
each tile's whole window gets its smooth part against its LR (:meth:`AvgPool.smooth_part`), so the correction at a
core sees the same neighbourhood it would untiled; then exact nearest PD and quantisation work in level units
(``[0, max_value]``) against the integer input, tile core by tile core: their per-block shift is the smooth
correction's nearest rest, plus the float rounding and the clipped blocks. Alpha and gray go through the RGB network
as replicated RGB and come back as the mean of the three.

A scale no model reaches (×5) runs the models of a larger one (×8) on each tile window, corrects their
estimate there, resamples it to the asked scale (:mod:`srcli.maths.resample`) and finishes with exact PD at
that scale (:func:`upscale_resampled`), so the saved file is exact as always.
"""

from __future__ import annotations

import copy
import functools
import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from srcli.archs import Model
from srcli.checkpoints.resolve import total_scale
from srcli.errors import OptionError
from srcli.io.images import Picture, decode_picture, encode_picture, read_picture
from srcli.maths.ensemble import SelfEnsemble
from srcli.maths.jpeg import Agreement, Smoothness
from srcli.maths.operators import CORRECTIONS, AvgPool, pad_to_multiple, smooth_radius
from srcli.maths.resample import RESAMPLES, resample
from srcli.maths.tiling import MIN_TILE, auto_tile
from srcli.tasks.batch import Job
from srcli.tasks.check import box_consistency
from srcli.tasks.jpeg_input import JpegInput, agreement_json, consistent_lr, file_agreement, jpeg_input
from srcli.tasks.run import RunOptions, TileCallback, Timings, fill_tiles

OVERLAP_CAP = 32
"""LR pixels of context at most, when the overlap follows the receptive radius (RRDBNet's is 349):
a 64-pixel tile then costs (64 + 2·32)² / 64² = 4 tiles' work."""


TILED_PSNR_FLOOR_DB: dict[str, float] = {"rrdbnet": 49.8, "compact": 96.9}
"""Per architecture whose receptive radius can exceed :data:`OVERLAP_CAP`: the lowest PSNR of a tiled upscale
against the untiled one with the default overlap and feather at tile 64, over 8 BSD68 images
(``benchmarks/quality/tile_seams.py``: Real-ESRGAN x4plus, 23 blocks; realesr-animevideov3, 16 convolutions, with
the smooth correction); the report states it where tiles differ from the untiled picture. Smaller tiles
have more seams."""


def stage_correction(model: Model, options: RunOptions) -> str:
    """The right inverse this stage corrects with: the one asked for, else the model's own."""
    correction = options.correction or model.correction
    if correction not in CORRECTIONS:
        raise OptionError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    return correction


def corrects_smoothly(model: Model, options: RunOptions) -> bool:
    """Whether this stage's PD runs, with the smooth correction."""
    return options.pd and stage_correction(model, options) == "smooth"


WHOLE_CORRECTION_VALUES = 1 << 26
"""Output values (256 MiB of float32 estimate) up to which a smooth correction on the CPU runs once, on the whole
picture, after every tile's estimate is in (:func:`corrects_whole`), as the JPEG path's does, instead of in each
tile's window. 512² → ×4 with ``compact-x4``-like nets, 2 threads: the windows' corrections (an HR upsampling and
addition over windows that overlap, and 8 more LR pixels of overlap for their reach) cost 110–130 ms a picture
against about 35 ms once (``benchmarks/README.md``, issue 38); larger pictures keep the tiles' bounded memory."""


def corrects_whole(model: Model, options: RunOptions, values: int) -> bool:
    """Whether this stage's smooth correction of an output of ``values`` values runs once on the whole picture
    (:data:`WHOLE_CORRECTION_VALUES`, on the CPU), not in each tile's window."""
    return corrects_smoothly(model, options) and options.device.type == "cpu" and values <= WHOLE_CORRECTION_VALUES


def needed_overlap(model: Model, options: RunOptions, whole: bool = False) -> int:
    """Context that makes a tile's core what the untiled picture gives: the network's receptive radius,
    plus the smooth correction's reach where it runs in each window (not ``whole``, after every tile)."""
    in_windows = corrects_smoothly(model, options) and not whole
    return model.receptive_radius + (smooth_radius() if in_windows else 0)


def overlap_for(needed: int, options: RunOptions) -> int:
    """The tile overlap a run that needs ``needed`` LR pixels of context uses: the one asked for, else
    ``needed`` up to :data:`OVERLAP_CAP`."""
    return options.overlap if options.overlap is not None else min(needed, OVERLAP_CAP)


def feather_for(needed: int, options: RunOptions) -> int:
    """LR pixels each side of a core border over which neighbouring windows are blended: none where the
    overlap covers ``needed`` (tiles are then the untiled picture), else half the overlap, so the blend
    stays as far from the window's edge as the smooth correction reaches (32 − 16 = 16)."""
    if options.feather is not None:
        return options.feather
    overlap = overlap_for(needed, options)
    return 0 if overlap >= needed else overlap // 2


def stage_overlap(model: Model, options: RunOptions) -> int:
    """The tile overlap this stage runs with (:func:`overlap_for` its :func:`needed_overlap`)."""
    return overlap_for(needed_overlap(model, options), options)


def stage_feather(model: Model, options: RunOptions) -> int:
    """The feather this stage runs with (:func:`feather_for` its :func:`needed_overlap`)."""
    return feather_for(needed_overlap(model, options), options)


RESAMPLE = "bicubic"
"""How an estimate of a larger scale is brought to the asked one (:data:`srcli.maths.resample.RESAMPLES`). Measured
(``benchmarks/quality/resampled_scales.py``, paired over the images, area − bicubic): ×3 from ×4 −0.023 ± 0.007 dB on
BSD68 (−0.033 ± 0.040 on Set5), ×5–×7 from ×8 within ±0.01 dB (1–2 standard errors): bicubic is never
worse. Area is local to each LR pixel and keeps an estimate consistent at ×E consistent at ×T."""


def resample_method(options: RunOptions) -> str:
    """The resampling asked for, else :data:`RESAMPLE`."""
    method = options.resample or RESAMPLE
    if method not in RESAMPLES:
        raise OptionError(f"resample must be one of {', '.join(RESAMPLES)}, got {method!r}")
    return method


def chain_needed_overlap(stages: list[Model], options: RunOptions) -> int:
    """LR pixels of context that make a tile of :func:`upscale_resampled` what the untiled picture gives:
    each stage's :func:`needed_overlap` in its own input's pixels, brought to LR pixels, and one more
    for the bicubic resample's reach."""
    reach, below = 0.0, 1
    for stage in stages:
        reach += needed_overlap(stage, options) / below
        below *= stage.scale
    return math.ceil(reach) + (resample_method(options) == "bicubic")


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


BF16_ARCHS = ("compact",)
"""Architectures whose srcli-trained nets run in bfloat16 on a CPU that computes it natively: every shipped
compact SR model measured within 0.01 dB PSNR-Y of float32 (benchmarks/speed/bf16_psnr.py); the saved files
are exact either way (PD and exact quantisation run in float32 on the network's float32 output)."""


def runs_in_bf16(model: Model, options: RunOptions) -> bool:
    """Whether ``model`` runs in bfloat16: one of srcli's own nets (``trained_on`` known) of :data:`BF16_ARCHS`,
    on the CPU, with :attr:`RunOptions.cpu_bf16` on."""
    on_cpu = options.cpu_bf16 and options.device.type == "cpu"
    return on_cpu and model.arch in BF16_ARCHS and model.trained_on is not None


def network_path(stages: list[Model], options: RunOptions) -> str:
    """What the record calls the way the stages' networks ran."""
    if any(runs_in_bf16(stage, options) for stage in stages):
        return f"{options.network_path}, bfloat16 autocast"
    return options.network_path


_BF16_TWINS: weakref.WeakKeyDictionary[torch.nn.Module, tuple[tuple[int, ...], torch.nn.Module]] = (
    weakref.WeakKeyDictionary()
)

_BF16_LOCK = threading.Lock()


def _bf16_twin(net: torch.nn.Module) -> torch.nn.Module:
    """A bfloat16 copy of ``net`` (the float32 net stays as it is), made once per network and again after any
    in-place change of its parameters (their version counters)."""
    versions = tuple(parameter._version for parameter in net.parameters())
    with _BF16_LOCK:  # files computed side by side (srcli.tasks.pipeline) share their networks
        known = _BF16_TWINS.get(net)
        if known is None or known[0] != versions:
            known = (versions, copy.deepcopy(net).to(torch.bfloat16))
            _BF16_TWINS[net] = known
        return known[1]


_CONVERSION_LOCK = threading.Lock()
"""Held while a stage's weights are converted (:func:`_prepare`). Files computed side by side
(:mod:`srcli.tasks.pipeline`) share a freshly loaded network, and each converted it to channels-last as it started:
one thread replaced the weights while the other ran a forward with them, and 1–3 of 30 batches of four small PNGs
saved other pixels in every file (up to 255 levels off, still exact) or failed on values of 1e35; one batch
crashed. Converted once under the lock (later calls change nothing), none of 280."""


def network_estimate(model: Model, window: torch.Tensor, options: RunOptions) -> torch.Tensor:
    """``(1, C, h, w)`` float in [0, 1] (CPU) → ``(1, C, s·h, s·w)`` float32 estimate (CPU), unclamped.

    Where :func:`runs_in_bf16`, the convolutions run in bfloat16 under autocast (weights cast once) while the
    input and the skip connection stay float32."""
    height, width = window.shape[-2:]
    batch = pad_to_multiple(_to_rgb_batch(window), model.input_multiple)
    batch = batch.to(options.device, options.dtype, memory_format=options.memory_format)
    bf16 = runs_in_bf16(model, options)
    base = _bf16_twin(model.net) if bf16 else model.net
    net = SelfEnsemble(base) if options.ensemble else base
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
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
    smooth = AvgPool(s, "smooth") if corrects_smoothly(model, options) else None
    out = torch.empty((channels, height * s, width * s), dtype=torch.uint8 if max_value == 255 else torch.int32)
    x = lr.unsqueeze(0).to(torch.float32) / max_value
    if smooth is not None and corrects_whole(model, options, out.numel()):
        estimate = _whole_estimate(model, x, lr, options, tile, on_tile, timings)
        started = time.perf_counter()
        measured = torch.nn.functional.avg_pool2d(estimate, s)
        smooth.quantize(estimate, lr.unsqueeze(0), max_value, unit=max_value, out=out.unsqueeze(0), measured=measured)
        timings.projection += time.perf_counter() - started
        return out

    def finish(core: torch.Tensor, measured: torch.Tensor, target: torch.Tensor) -> None:
        if options.pd:
            operator.quantize(core, measured, max_value, unit=max_value, out=target)
        else:
            target.copy_((core * max_value).round_().clamp_(0, max_value))

    def run(window: torch.Tensor) -> torch.Tensor:
        estimate = network_estimate(model, window, options)
        if smooth is None:
            return estimate
        with timings.projection_inside():
            return smooth.smooth_part(estimate, window)  # the finish adds the rest

    overlap = stage_overlap(model, options)
    feather = stage_feather(model, options)
    return fill_tiles(run, x, lr, out, finish, tile, overlap, s, timings, on_tile, feather)


def _whole_estimate(
    model: Model,
    x: torch.Tensor,
    lr: torch.Tensor,
    options: RunOptions,
    tile: int,
    on_tile: TileCallback | None,
    timings: Timings,
) -> torch.Tensor:
    """The network's float estimate ``(1, C, s·h, s·w)`` of ``x`` ``(1, C, h, w)`` in [0, 1] (``lr`` its integer
    ``(C, h, w)``) over all tiles, for a correction made afterwards on the whole picture: the windows overlap by
    the network's own receptive radius (:func:`needed_overlap` with ``whole``)."""
    channels, height, width = lr.shape
    s = model.scale
    estimate = torch.empty((1, channels, height * s, width * s), dtype=torch.float32)

    def keep(core: torch.Tensor, measured: torch.Tensor, target: torch.Tensor) -> None:
        target.copy_(core)

    needed = needed_overlap(model, options, whole=True)
    overlap, feather = overlap_for(needed, options), feather_for(needed, options)
    run = functools.partial(network_estimate, model, options=options)
    fill_tiles(run, x, lr, estimate[0], keep, tile, overlap, s, timings, on_tile, feather)
    return estimate


JPEG_CORRECTION = "smooth"
"""How the JPEG path spreads the change its LR needs, where no correction is asked for (nor the model says): the
change is made block by block in DCT space, so nearest replication shows the JPEG's 8×8 grid as a 32-pixel one. With
the nearest-trained ``compact-jpeg-x4`` of 2026-12-06 on BSD68 ×4 (``benchmarks/jpeg/jpeg_input.py``): 32-px grid
ratio 1.52 → 1.27 at quality 75, PSNR-Y within 0.002 dB; today's ``compact-jpeg-x4`` is trained through it."""
JPEG_SMOOTHNESS = Smoothness(border=0.1)
"""How the JPEG path moves its network's LR into the bins (:func:`srcli.maths.jpeg.smooth_to_bins`): the estimate
keeps some of the JPEG's blocking, which the Euclidean clip leaves in place; a light weight on the steps across block
borders takes it out. ``compact-jpeg-x4`` (bilinear skip, trained through the smooth correction) on BSD68 and Set14
at quality 40 / 75 / 90: 32-px grid 1.19 / 1.12 / 1.11 with the Euclidean clip, 1.01 / 1.02 / 1.07 with border weight
0.1 (the photos' 1.02), for −0.012 / −0.009 / −0.004 dB PSNR-Y. On the model before it (nearest skip) weight 0.1 took
1.37 to 1.18 at quality 40; 0.33 went to 0.96 for −0.06 dB; a change made smooth instead (‖∇change‖² + 0.05‖change‖²
in the bins) left the grid in place: the grid is the estimate's, not the projection's."""


def _upscale_jpeg(
    jpeg: JpegInput,
    model: Model,
    options: RunOptions,
    tile: int,
    on_tile: TileCallback | None,
    timings: Timings,
) -> tuple[torch.Tensor, Agreement]:
    """×s of a JPEG input, consistent with its file: the network's estimate over all tiles, its box mean moved
    into the file's bins and made an 8-bit LR the encoder confirms (:func:`consistent_lr`), then the correction
    and exact quantisation against that LR, on the whole picture (so tiles equal the untiled result wherever
    the network's cores do). Returns ``(C, s·h, s·w)`` uint8 and the LR's agreement with the file."""
    lr = jpeg.decoded
    s = model.scale
    estimate = _whole_estimate(model, lr.unsqueeze(0).to(torch.float32) / 255, lr, options, tile, on_tile, timings)
    started = time.perf_counter()
    measured = torch.nn.functional.avg_pool2d(estimate, s)
    target, found = consistent_lr(jpeg, measured[0] * 255, JPEG_SMOOTHNESS)
    operator = AvgPool(s, options.correction or JPEG_CORRECTION)
    out = torch.empty_like(estimate, dtype=torch.uint8)
    operator.quantize(estimate, target.unsqueeze(0), 255, unit=255, out=out, measured=measured)
    timings.projection += time.perf_counter() - started
    return out[0], found


def first_tile(picture: Picture, stages: list[Model], options: RunOptions) -> int:
    """The tile side (LR pixels) a run starts with: the one asked for (0: whole), else whole for a network
    that tiles itself, else what fits the device at the estimate's scale (:func:`srcli.maths.tiling.auto_tile`,
    with the widest stage's features brought to LR pixels)."""
    if options.tile is not None:
        return options.tile if options.tile > 0 else max(picture.height, picture.width)
    if any(stage.whole for stage in stages):
        return max(picture.height, picture.width)
    below, features = 1, 0
    for stage in stages:
        features = max(features, stage.features * below * below)
        below *= stage.scale
    return auto_tile(options.device, features, below)


def _retrying(picture: Picture, tile: int, timings: Timings, work: Callable[[int], torch.Tensor]) -> Picture:
    """``work(tile)`` as the picture's channels; on CUDA out-of-memory the tile side is halved and the
    picture started again."""
    while True:
        try:
            out = work(tile)
            timings.tiles.append(tile)
            return picture.with_channels(out)
        except torch.cuda.OutOfMemoryError:
            if tile // 2 < MIN_TILE:
                raise OptionError(
                    f"out of GPU memory even with {MIN_TILE}-pixel tiles; run on the CPU (device cpu)"
                ) from None
            tile //= 2
            torch.cuda.empty_cache()


def _prepare(stages: list[Model], options: RunOptions) -> None:
    """The stages' weights on the run's device, dtype and memory format, converted under :data:`_CONVERSION_LOCK`."""
    with _CONVERSION_LOCK:
        for stage in stages:
            # channels-last convolutions (unless SRCLI_ACCELERATE=0): 1.4–2.4× faster on CPU (the shipped compact net)
            stage.net.to(options.device, options.dtype, memory_format=options.memory_format)  # type: ignore[call-overload]


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
    _prepare([model], options)
    lr, top = picture.channels(), picture.max_value
    return _retrying(
        picture,
        first_tile(picture, [model], options),
        timings,
        lambda tile: _upscale_tiles(lr, top, model, options, tile, on_tile, timings),
    )


def upscale_jpeg_picture(
    picture: Picture,
    jpeg: JpegInput,
    model: Model,
    options: RunOptions,
    on_tile: TileCallback | None = None,
    timings: Timings | None = None,
) -> tuple[Picture, Agreement]:
    """:func:`upscale_picture` of a picture read from a JPEG file, consistent with the file's coefficients
    (:func:`_upscale_jpeg`), and how much of the file its LR reproduces."""
    timings = timings if timings is not None else Timings()
    _prepare([model], options)
    found: list[Agreement] = []

    def work(tile: int) -> torch.Tensor:
        out, agreement = _upscale_jpeg(jpeg, model, options, tile, on_tile, timings)
        found.append(agreement)
        return out

    return _retrying(picture, first_tile(picture, [model], options), timings, work), found[-1]


def _chain_estimate(stages: list[Model], window: torch.Tensor, options: RunOptions, timings: Timings) -> torch.Tensor:
    """The stages' float estimate of one window ``(1, C, h, w)`` in [0, 1] → ``(1, C, E·h, E·w)``: each
    stage corrected against its own input (its correction, in float, booked to ``timings``' projection), clipped
    to [0, 1] between stages."""
    current = window
    for index, stage in enumerate(stages):
        estimate = network_estimate(stage, current, options)
        if options.pd:
            with timings.projection_inside():
                estimate = AvgPool(stage.scale, stage_correction(stage, options)).project(estimate, current)
        current = estimate if index == len(stages) - 1 else estimate.clamp(0, 1)
    return current


def upscale_resampled(
    picture: Picture,
    stages: list[Model],
    scale: int,
    options: RunOptions,
    on_tile: TileCallback | None = None,
    timings: Timings | None = None,
) -> Picture:
    """A picture ×``scale`` from stages of a larger total scale ``E``: on every tile window the stages run
    (:func:`_chain_estimate`), their ×E estimate is resampled to ×``scale`` (:func:`resample_method`) and
    the core finished with exact PD at ×``scale``, so every channel is exactly consistent with its box LR.
    """
    timings = timings if timings is not None else Timings()
    _prepare(stages, options)
    lr, top = picture.channels(), picture.max_value
    source, method = total_scale(stages), resample_method(options)
    operator = AvgPool(scale)
    needed = chain_needed_overlap(stages, options)

    def run(window: torch.Tensor) -> torch.Tensor:  # float64: the same weights in every window
        return resample(_chain_estimate(stages, window, options, timings).double(), source, scale, method)

    def finish(core: torch.Tensor, measured: torch.Tensor, target: torch.Tensor) -> None:
        if options.pd:
            operator.quantize(core, measured, top, unit=top, out=target)
        else:
            target.copy_((core * top).round_().clamp_(0, top))

    def work(tile: int) -> torch.Tensor:
        channels, height, width = lr.shape
        out = torch.empty((channels, height * scale, width * scale), dtype=torch.uint8 if top == 255 else torch.int32)
        x = lr.unsqueeze(0).to(torch.float32) / top
        overlap, feather = overlap_for(needed, options), feather_for(needed, options)
        return fill_tiles(run, x, lr, out, finish, tile, overlap, scale, timings, on_tile, feather)

    return _retrying(picture, first_tile(picture, stages, options), timings, work)


def upscale_chain(
    picture: Picture,
    stages: list[Model],
    options: RunOptions,
    scale: int | None = None,
    on_tile: TileCallback | None = None,
    timings: Timings | None = None,
) -> tuple[Picture, list[bool]]:
    """A picture ×``scale`` (None: the stages' product) through the stages, exact at each (a cascade), or,
    where ``scale`` is not their product, :func:`upscale_resampled`; and whether each run was split into tiles."""
    timings = timings if timings is not None else Timings()
    split = []
    if scale is not None and scale != total_scale(stages):
        upscaled = upscale_resampled(picture, stages, scale, options, on_tile, timings)
        return upscaled, [timings.tiles[-1] < max(picture.height, picture.width)]
    for stage in stages:
        upscaled = upscale_picture(picture, stage, options, on_tile, timings)
        split.append(timings.tiles[-1] < max(picture.height, picture.width))
        picture = upscaled
    return picture, split


@dataclass(frozen=True)
class Upscale:
    """The SR task of :func:`srcli.tasks.run.run_file`: one or more stages (a ×8 cascade is ×2 then ×4), and
    where ``scale`` is not their product (None: it is), their estimate resampled to it (:func:`upscale_chain`)."""

    stages: list[Model]
    options: RunOptions
    scale: int | None = None
    name: str = "sr"
    jpeg: bool = True  # JPEG inputs consistent with their file's coefficients (a single stage with PD)
    jpeg_stages: list[Model] | None = None  # the model for JPEG inputs, where it is another
    split: list[bool] = field(default_factory=list, compare=False)  # per run of the last file: in tiles
    found: list[JpegInput] = field(default_factory=list, compare=False)  # the last file's JPEG data, if projected

    @property
    def resampled(self) -> bool:
        return self.scale is not None and self.scale != total_scale(self.stages)

    def read(self, source: str) -> Picture:
        return read_picture(source)

    def check_target(self, job: Job, overwrite: bool) -> None:
        job.refuse_existing_target(overwrite)

    def stages_for(self, item: Picture) -> list[Model]:
        """The stages that run on ``item``: the JPEG model for a JPEG input taking the JPEG path."""
        return self.jpeg_stages if self.jpeg_stages and self.takes_jpeg_path(item) else self.stages

    def takes_jpeg_path(self, item: Picture) -> bool:
        """Whether ``item`` is projected onto its JPEG file's bins: a JPEG input, PD on, one stage at its scale."""
        stages = self.jpeg_stages or self.stages
        return self.jpeg and item.jpeg is not None and self.options.pd and len(stages) == 1 and not self.resampled

    def restore(self, item: Picture, timings: Timings, on_tile: TileCallback | None) -> Picture:
        self.found.clear()
        stages = self.stages_for(item)
        timings.network_path = network_path(stages, self.options)
        if self.takes_jpeg_path(item):
            jpeg = jpeg_input(item)
            if jpeg is not None:
                picture, _ = upscale_jpeg_picture(item, jpeg, stages[0], self.options, on_tile, timings)
                self.split[:] = [timings.tiles[-1] < max(item.height, item.width)]
                self.found.append(jpeg)
                return picture
        picture, split = upscale_chain(item, stages, self.options, self.scale, on_tile, timings)
        self.split[:] = split
        return picture

    def encode(self, result: Picture, suffix: str) -> tuple[bytes, None]:
        return encode_picture(result, suffix, self.options.quality, png_level=self.options.png_level), None

    def _correction(self, stages: list[Model]) -> str | None:
        """What the record says of the correction: the JPEG path's spread, else each stage's; None without PD."""
        if not self.options.pd:
            return None
        if self.found:
            return self.options.correction or JPEG_CORRECTION
        return " → ".join(stage_correction(stage, self.options) for stage in stages)

    def _tiling(self, item: Picture) -> dict[str, object]:
        """What the report says of tiling: overlap and feather per run (each stage, or the one resampled
        chain), whether the result is the untiled one (one tile, or an overlap that covers what the run
        needs), and where it is not, the lowest tiled-vs-untiled PSNR measured for the architecture
        (:data:`TILED_PSNR_FLOOR_DB`), or None."""
        if self.resampled:
            runs = [(self.stages, chain_needed_overlap(self.stages, self.options))]
        else:
            runs, values = [], item.channels().numel()
            for stage in self.stages:
                values *= stage.scale**2
                whole = bool(self.found) or corrects_whole(stage, self.options, values)
                runs.append(([stage], needed_overlap(stage, self.options, whole)))
        overlaps, feathers, exact, floors = [], [], [], []
        for (stages, needed), split in zip(runs, self.split, strict=True):
            overlaps.append(overlap_for(needed, self.options))
            feathers.append(feather_for(needed, self.options) if split else 0)
            exact.append(not split or overlaps[-1] >= needed)
            if not exact[-1]:
                floors += [TILED_PSNR_FLOOR_DB.get(stage.arch) for stage in stages]
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
        stages = self.stages_for(item)
        consistency = (
            agreement_json(file_agreement(self.found[0], saved.channels(), scale))
            if self.found
            else {"consistency": "box"}
        )
        return {
            "model": " → ".join(stage.name for stage in stages),
            "arch": " → ".join(stage.arch for stage in stages),
            "parameters": sum(stage.parameters for stage in stages),
            "scale": scale,
            **resample_record(stages, scale, self.options),
            "correction": self._correction(stages),
            **self._tiling(item),
            "input_size": [item.width, item.height],
            "output_size": [saved.width, saved.height],
            "mode": item.mode,
            **verdict.as_json(),
            **consistency,
        }


def resampled_estimate(z: torch.Tensor, stages: list[Model], scale: int, options: RunOptions) -> torch.Tensor:
    """A whole float estimate ``(C, E·h, E·w)`` of the stages (total scale ``E``) brought to ×``scale``
    (itself where ``E`` is ``scale``), for a projection under another degradation than the box."""
    source = total_scale(stages)
    return z if source == scale else resample(z.unsqueeze(0), source, scale, resample_method(options))[0]


def resample_record(stages: list[Model], scale: int, options: RunOptions) -> dict[str, object]:
    """What a record says of resampling: the stages' own scale and how their estimate was brought to
    ``scale`` (None where it was not)."""
    source = total_scale(stages)
    return {"estimate_scale": source, "resample": resample_method(options) if source != scale else None}
