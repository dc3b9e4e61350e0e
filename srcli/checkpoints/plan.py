"""The planner: which networks ``upscale`` runs, from the words a user gives it.

``(model spec, scale, degradation, realism, noise)`` → :class:`UpscalePlan`: the SR stages (a named model, the
shipped defaults of the scale or a cascade of them, a realism blend) or a kernel-conditioned model (USRNet) and
the scale it runs at. Each checkpoint named is loaded, and its sha256 checked, once. The command line parses
its options into these words and the Python API passes them as they are; neither chooses a model itself. A plan
holds plain values and loaded models, so it pickles.
"""

from __future__ import annotations

from dataclasses import dataclass

from srcli.archs import Model
from srcli.checkpoints.blend import realism_model
from srcli.checkpoints.resolve import UPSCALE_SCALES, SRPlan, load_named, resolve, shipped_by_scale, sr_plan
from srcli.errors import OptionError
from srcli.io.degradation_spec import projectable

KERNEL_SCALES = "1,2,3,4"
"""The scales a kernel-conditioned checkpoint without a ``scales`` header runs at (upstream USRNet's range)."""
KERNEL_DEFAULT_SCALE = 4
JPEG_AUTO = "auto"
"""The degradation that means: the box, and for a JPEG input the box then the JPEG file itself."""


@dataclass(frozen=True)
class UpscalePlan:
    """What ``upscale`` runs: ``sr`` (the stages and the output scale), the ``degradation`` spec the output is
    projected under and its ``kind``, the input's ``noise`` level, and whether the one stage takes the kernel.
    ``jpeg``: a JPEG input is projected onto its file's bins (``degradation`` ``auto``), by ``jpeg_stages`` where
    a model trained for JPEG inputs ships for the scale and none was named."""

    sr: SRPlan
    degradation: str = "box"
    kind: str = "box"
    noise: float = 0.0
    kernel_conditioned: bool = False
    jpeg: bool = False
    jpeg_stages: list[Model] | None = None

    @property
    def scale(self) -> int:
        return self.sr.scale

    @property
    def stages(self) -> list[Model]:
        return self.sr.stages

    @property
    def plain(self) -> bool:
        """The box degradation of a clean input: exact PD and quantisation, no round trip."""
        return self.kind == "box" and self.noise == 0 and not self.kernel_conditioned


def kernel_scale(model: Model, header: dict[str, str], scale: int | None) -> int:
    """The scale a kernel-conditioned model runs at: ``scale`` (default 4) if it was trained for it (its
    header's ``scales``; 1 to 4 for a model without one)."""
    trained = [int(part) for part in header.get("scales", KERNEL_SCALES).split(",")]
    scale = KERNEL_DEFAULT_SCALE if scale is None else scale
    if scale not in trained:
        raise OptionError(f"{model.name} was trained for scales {', '.join(map(str, trained))}, not {scale}")
    return scale


def check_upscale_scale(scale: int | None) -> None:
    """Refuse a scale outside what upscale runs with SR models (:data:`UPSCALE_SCALES`)."""
    if scale is not None and scale not in UPSCALE_SCALES:
        raise OptionError(
            f"must be an integer from {UPSCALE_SCALES[0]} to {UPSCALE_SCALES[-1]}, got {scale}", parameter="scale"
        )


def plan_upscale(
    spec: str | None,
    scale: int | None,
    degradation: str = "box",
    realism: float | None = None,
    noise: float = 0.0,
    ensemble: bool = False,
) -> UpscalePlan:
    """The plan for upscaling by ``scale`` (None: the model's own, else ×4) with the model ``spec`` (None: the
    shipped ones), for inputs made by ``degradation`` with noise level ``noise``; ``realism`` in [0, 1] blends
    the PSNR model with the realistic one. ``ensemble``: refused for a kernel-conditioned model. ``degradation``
    ``auto`` is the box, and for a JPEG input its file (:class:`UpscalePlan` ``jpeg``)."""
    jpeg = degradation == JPEG_AUTO
    degradation = "box" if jpeg else degradation
    kind, _ = projectable(degradation)
    if not 0 <= noise < 1e4:
        raise OptionError(f"must be a level in [0, 10000), got {noise}", parameter="noise")
    found = load_named(spec) if spec is not None else None
    if found is not None and found[0].task == "kernel":
        model, header = found
        if realism is not None or ensemble:
            refused = "realism" if realism is not None else "ensemble"
            raise OptionError(f"is not available for {model.name}, a kernel-conditioned model", parameter=refused)
        factor = kernel_scale(model, header, scale)
        return UpscalePlan(SRPlan([model], factor), degradation, kind, noise, kernel_conditioned=True)
    sr = plan_sr(spec, scale, realism, kind, found)
    jpeg_stages = jpeg_models(sr) if jpeg and spec is None and realism is None else None
    return UpscalePlan(sr, degradation, kind, noise, jpeg=jpeg and noise == 0, jpeg_stages=jpeg_stages)


def jpeg_models(sr: SRPlan) -> list[Model] | None:
    """The shipped model trained for JPEG inputs at the plan's scale (one stage, not resampled), where one ships."""
    by_scale = shipped_by_scale("jpeg")
    entry = by_scale.get(sr.scale)
    if entry is None or entry.degradation != "jpeg":
        return None
    return [resolve(entry.name, "sr")[0]]


def plan_sr(
    spec: str | None,
    scale: int | None,
    realism: float | None = None,
    kind: str = "box",
    found: tuple[Model, dict[str, str]] | None = None,
) -> SRPlan:
    """The SR stages of :func:`plan_upscale` (refusing a model that is not an SR one): ``spec`` or the shipped
    models for inputs of degradation ``kind``, or the ``realism`` blend; ``found``: ``spec`` loaded already."""
    check_upscale_scale(scale)
    if realism is None:
        return sr_plan(spec, scale, kind, found=found)
    blended = realism_model(spec, scale, realism, found=found)
    return SRPlan([blended], blended.scale)
