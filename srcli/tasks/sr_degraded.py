"""Super-resolution under a known degradation other than the box: bicubic (Pillow, MATLAB), Gaussian.

The network's estimate (any SR model, run in tiles as usual) is projected onto the images whose
degradation is the input (:class:`srcli.maths.degradations.Resize`), then rounded so that degrading the saved
file the same way, as a file stores it, gives the input back (:func:`srcli.maths.round_trip.round_trip`; for
``bicubic`` the reference is Pillow's own 8-bit ``resize``).

With a noise level σ nothing is claimed exact: the input's colour is denoised first
(:func:`srcli.maths.denoise.denoise`), the networks run on the denoised LR ``ŷ``, and their estimate is projected
onto ``y − κ(y − ŷ)``, with ``κ`` such
that the saved file's residual against the input has level σ (the discrepancy principle; ``κ`` ≤
:data:`MAX_RESIDUAL_SCALE`). A network that takes the noise level itself (USRNet) is relaxed onto the input instead,
inside the file's range (:mod:`srcli.maths.in_range`), so that clipping the saved file to it keeps that residual.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from srcli.archs import Model
from srcli.checkpoints.resolve import total_scale
from srcli.io.degradation_spec import downsample_float, operator_for, parse_spec
from srcli.io.images import Picture, decode_picture, encode_picture, read_picture
from srcli.maths.degradations import ReflectBlur, Resize
from srcli.maths.denoise import denoise
from srcli.maths.in_range import relaxed_in_range
from srcli.maths.metrics import consistency_psnr
from srcli.maths.operators import LinearOperator
from srcli.maths.round_trip import ROUND_TRIP_STEPS, RoundedLinear, RoundedResize, round_trip
from srcli.maths.tiling import auto_tile
from srcli.tasks.batch import Job
from srcli.tasks.run import RunOptions, TileCallback, Timings, fill_tiles
from srcli.tasks.sr import network_estimate, network_path, resample_record, resampled_estimate, stage_overlap

MAX_RESIDUAL_SCALE = 2.0
"""The most the denoiser's residual ``y − ŷ`` is stretched by to reach the noise level: a denoiser that keeps
half the noise is used as it is, at half the level, rather than extrapolated further."""
KERNEL_ROUND_TRIP_STEPS = 6
"""Round-trip steps for a non-separable kernel: each solves by conjugate gradients (a few seconds a
megapixel); the values left off are reported."""


def estimate(picture: Picture, stages: list[Model], options: RunOptions, timings: Timings,
             on_tile: TileCallback | None) -> torch.Tensor:  # fmt: skip
    """The networks' float estimate ``(C, s·H, s·W)`` in level units, unclamped, of every channel (stage by
    stage; between stages the estimate is rounded and clipped, as a saved intermediate would be)."""
    top = picture.max_value
    current = picture.channels().to(torch.float64)
    for stage in stages:
        stage.net.to(options.device, options.dtype, memory_format=options.memory_format)  # type: ignore[call-overload]
        tile = auto_tile(options.device, stage.features, stage.scale) if options.tile is None else options.tile
        channels, height, width = current.shape
        out = torch.empty((channels, height * stage.scale, width * stage.scale), dtype=torch.float64)

        def finish(core: torch.Tensor, measured: torch.Tensor, target: torch.Tensor) -> None:
            target.copy_(core * top)

        def run(window: torch.Tensor, model: Model = stage) -> torch.Tensor:
            return network_estimate(model, window, options)

        x = (current.clamp(0, top).round() / top).to(torch.float32).unsqueeze(0)
        current = fill_tiles(
            run, x, current, out, finish, tile, stage_overlap(stage, options), stage.scale, timings, on_tile
        )
        timings.tiles.append(tile)
    return current


@dataclass(frozen=True)
class UpscaleDegraded:
    """The SR task of :func:`srcli.tasks.run.run_file` for a known degradation ``degradation`` (a spec of
    :func:`srcli.io.degradation_spec.parse_spec`) and noise level ``noise`` (levels; 0 for a clean LR); with
    ``target``, a scale below the stages' product, their estimate is resampled to it first."""

    stages: list[Model]
    options: RunOptions
    degradation: str
    noise: float = 0.0
    target: int | None = None
    name: str = "sr"

    @property
    def scale(self) -> int:
        return self.target or total_scale(self.stages)

    def read(self, source: str) -> Picture:
        return read_picture(source)

    def check_target(self, job: Job, overwrite: bool) -> None:
        job.refuse_existing_target(overwrite)

    @property
    def denoises(self) -> bool:
        """Whether a noisy input is denoised before the networks (they do not take the noise level)."""
        return self.noise > 0 and self.options.pd

    def restore(self, item: Picture, timings: Timings, on_tile: TileCallback | None) -> Picture:
        stages = self.stages_for(item)
        timings.network_path = network_path(stages, self.options)
        started = time.perf_counter()
        denoised = denoised_colour(item, self.noise) if self.denoises else None
        timings.projection += time.perf_counter() - started
        source = (
            item
            if denoised is None
            else item.with_channels(denoised.round().clamp(0, item.max_value).to(item.color.dtype))
        )
        z = estimate(source, stages, self.options, timings, on_tile)
        z = resampled_estimate(z, stages, self.scale, self.options)
        started = time.perf_counter()
        try:
            return self._project(item, z, denoised, on_tile)
        finally:
            timings.projection += time.perf_counter() - started

    def stages_for(self, item: Picture) -> list[Model]:
        """The networks ``item`` runs through: :attr:`stages` (a kernel-conditioned task sets its model up
        for the picture, :class:`srcli.tasks.usrnet.UpscaleUnfolded`)."""
        return self.stages

    def _project(
        self, item: Picture, z: torch.Tensor, denoised: torch.Tensor | None, on_tile: TileCallback | None
    ) -> Picture:
        """The estimate ``z`` projected under the degradation and rounded: onto :func:`noisy_target` where the
        input was ``denoised``, else relaxed to the noise level inside the file's range
        (:func:`srcli.maths.in_range.relaxed_in_range`, its steps reported to ``on_tile``), else exactly (the
        integer round trip)."""
        operator = operator_for(self.degradation, self.scale, z.shape[1], z.shape[2])
        y = item.channels()
        if denoised is not None:
            target = noisy_target(y.double(), denoised, self.noise, item.color.shape[0])
            x = operator.project(z.unsqueeze(0), target.unsqueeze(0))[0]
            return item.with_channels(x.round().clamp(0, item.max_value).to(y.dtype))
        if self.noise > 0 or not self.options.pd:
            x = z if not self.options.pd else relaxed_file(operator, z, y.double(), self.noise, item.max_value, on_tile)
            return item.with_channels(x.round().clamp(0, item.max_value).to(y.dtype))
        projected = operator.project(z.unsqueeze(0), y.to(torch.float64).unsqueeze(0))[0]
        reference = self._reference(operator, item.bit_depth)
        steps = ROUND_TRIP_STEPS if isinstance(reference, RoundedResize) else KERNEL_ROUND_TRIP_STEPS
        image, _ = round_trip(projected, y.to(torch.int64), reference, steps)
        return item.with_channels(image.to(y.dtype))  # the record counts what is off from the saved file

    def _reference(self, operator: LinearOperator, bit_depth: int) -> RoundedResize | RoundedLinear:
        """How a file stores this degradation: Pillow's own 8-bit bicubic, else the float result rounded."""
        kind, _ = parse_spec(self.degradation)
        top = (1 << bit_depth) - 1
        if isinstance(operator, Resize):
            return RoundedResize(operator, top, pillow=kind == "bicubic" and bit_depth == 8)
        return RoundedLinear(operator, top)

    def encode(self, result: Picture, suffix: str) -> tuple[bytes, None]:
        return encode_picture(result, suffix, self.options.quality, png_level=self.options.png_level), None

    def record(self, item: Picture, data: bytes, kept: None, job: Job) -> dict[str, Any]:
        saved = decode_picture(data, job.target, trusted=True)
        y = item.channels()
        measured = downsample_float(saved.channels(), self.scale, self.degradation)
        residual = measured - y.to(torch.float64)
        verdict: dict[str, Any] = {"consistency_psnr_db": None, "consistency_exact": False}
        psnr = consistency_psnr(measured, y.to(torch.float64), item.max_value)
        verdict["consistency_psnr_db"] = None if psnr == float("inf") else round(psnr, 4)
        if self.noise > 0:
            colour = residual[: item.color.shape[0]]  # the noise is on the colour, not alpha
            verdict["residual_rms"] = round(float(colour.square().mean().sqrt()), 4)
            verdict |= {"noise": self.noise, "denoised_input": self.denoises}
        else:
            operator = operator_for(self.degradation, self.scale, saved.height, saved.width)
            reference = self._reference(operator, item.bit_depth)
            off = int((reference(saved.channels()) != y.to(torch.int64)).sum())
            verdict |= {"consistency_exact": off == 0, "lr_values_off": off}
        return {
            "model": " → ".join(stage.name for stage in self.stages),
            "arch": " → ".join(stage.arch for stage in self.stages),
            "parameters": sum(stage.parameters for stage in self.stages),
            "scale": self.scale,
            **resample_record(self.stages, self.scale, self.options),
            "degradation": self.degradation,
            "input_size": [item.width, item.height],
            "output_size": [saved.width, saved.height],
            "mode": item.mode,
            **verdict,
        }


def relaxed_file(operator: Resize | ReflectBlur, z: torch.Tensor, y: torch.Tensor, noise: float, top: int,
                 on_tile: TileCallback | None) -> torch.Tensor:  # fmt: skip
    """``z`` ``(C, H, W)`` relaxed onto ``y`` ``(C, h, w)`` at level ``noise`` inside ``[0, top]``
    (:func:`srcli.maths.in_range.relaxed_in_range`), its conjugate-gradient steps reported to ``on_tile`` as
    ``"projecting"`` and the last as done."""
    done = [0]

    def on_step(steps: int, planned: int) -> None:
        done[0] = steps
        if on_tile:
            on_tile(steps, planned, "projecting")

    x = relaxed_in_range(operator.relaxer(y.unsqueeze(0), noise, on_step), z.unsqueeze(0), top)[0]
    if on_tile and done[0]:
        on_tile(done[0], done[0], "projecting")
    return x


def denoised_colour(picture: Picture, noise: float) -> torch.Tensor:
    """The picture's channels ``(C, h, w)`` float64 with the colour denoised at level ``noise`` (levels); alpha
    is kept (noise is on the colour, as ``srcli degrade`` adds it)."""
    y = picture.channels().to(torch.float64)
    colour = picture.color.shape[0]
    return torch.cat([denoise(y[:colour], noise), y[colour:]])


def noisy_target(y: torch.Tensor, denoised: torch.Tensor, noise: float, colour: int) -> torch.Tensor:
    """``y − κ(y − ŷ)`` ``(C, h, w)``: the LR a projection makes the output consistent with, ``κ`` such that the
    residual's root mean square over the ``colour`` channels is ``noise`` (at most :data:`MAX_RESIDUAL_SCALE`)."""
    residual = y - denoised
    level = float(residual[:colour].square().mean().sqrt())
    kappa = min(noise / level, MAX_RESIDUAL_SCALE) if level > 0 else 1.0
    return y - kappa * residual
