"""Resolve a model the user names: a manifest name (shipped, or pulled from the Hub) or a checkpoint path.

:func:`resolve` is the one way a task gets its network: it loads, describes and checks the task;
:func:`sr_plan` chains shipped SR models where no single one has the asked scale, and resamples a larger
scale's estimate where no chain reaches it.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from srcli.archs import Model
from srcli.checkpoints.load import load_model
from srcli.checkpoints.manifest import ModelEntry, check_sha256, defaults, find_entry
from srcli.errors import ModelError
from srcli.maths.operators import MAX_SCALE

DEFAULT_SCALE = 4
TASK_WORDS = {
    "sr": "a super-resolution model (use `srcli upscale`)",
    "colorize": "a colorization model (use `srcli colorize`)",
    "cs": "a compressed-sensing model (use `srcli cs reconstruct`)",
    "kernel": "a kernel-conditioned model (use `srcli upscale --model M --degradation ...` or `srcli deblur`)",
}


def looks_like_path(spec: str) -> bool:
    """Whether a model spec names a file rather than a manifest entry."""
    return spec.endswith((".safetensors", ".pth", ".pt")) or "/" in spec or Path(spec).exists()


def local_path(entry: ModelEntry) -> Path:
    """The entry's weights on this machine, checked against the manifest's sha256: shipped in the
    package, else pulled into the Hub cache (where :func:`srcli.checkpoints.hub.pull` checks them)."""
    if entry.shipped:
        check_sha256(entry, entry.shipped_path)
        return entry.shipped_path
    from srcli.checkpoints.hub import pull

    return pull(entry)


def locate(spec: str) -> tuple[Path, str | None]:
    """The checkpoint file ``spec`` names (a manifest name, checked, or a path) and the model's name (the
    manifest's; None for a path, whose model takes the file's name)."""
    if looks_like_path(spec):
        return Path(spec), None
    return local_path(find_entry(spec)), spec


def load_named(spec: str) -> tuple[Model, dict[str, str]]:
    """The model ``spec`` names (a manifest name or a checkpoint path), whatever its task, and its header."""
    return load_model(*locate(spec))


def resolve(spec: str, task: str) -> tuple[Model, dict[str, str]]:
    """The model ``spec`` names, for ``task`` (``sr``, ``colorize``, ``cs`` or ``kernel``), and its checkpoint
    header.

    Raises :class:`ModelError` when it cannot be loaded or does another task.
    """
    return checked_task(load_named(spec), task)


def checked_task(found: tuple[Model, dict[str, str]], task: str) -> tuple[Model, dict[str, str]]:
    """A loaded model and its header, refused with a :class:`ModelError` when it does another task than ``task``."""
    model, metadata = found
    if model.task != task:
        raise ModelError(f"{model.name} is {TASK_WORDS[model.task]}, not {TASK_WORDS[task].split(' (')[0]}")
    return model, metadata


def describe_file(path: Path) -> dict[str, object]:
    """What a checkpoint file holds, for ``srcli models info PATH``: its network described (architecture,
    task, scale, parameters, default correction, the LR it was trained on, receptive radius, input
    multiple), its configuration, the header srcli wrote (training record) and the file's size and sha256.
    Raises :class:`ModelError`."""
    from srcli.checkpoints.hub import sha256_of

    model, metadata = load_model(path)
    config = getattr(model.net, "config", {})
    return {
        "file": str(path),
        "size": path.stat().st_size,
        "sha256": sha256_of(path),
        "task": model.task,
        **model.as_json(),
        "trained_on": model.trained_on,
        "receptive_radius": model.receptive_radius,
        "input_multiple": model.input_multiple,
        "config": config,
        "header": {key: value for key, value in metadata.items() if key != "config"},
    }


def default_name(task: str, what: str) -> str:
    """The name of the shipped default model for ``task`` (``what`` says what was asked, for the error)."""
    found = defaults(task)
    if not found:
        raise ModelError(f"no {what} model ships with this srcli; pass a checkpoint path as the model")
    return found[0].name


UPSCALE_SCALES = range(2, 9)
"""The scales ``srcli upscale`` runs with the shipped models: those a product of shipped scales reaches,
and the others from the next larger one that a product reaches, resampled (:class:`SRPlan`)."""


@dataclass(frozen=True)
class SRPlan:
    """How an image is taken to ×``scale``: SR ``stages`` whose scales multiply to :attr:`estimate_scale`
    (a cascade where there is more than one, PD at each), and where that is not ``scale``, their float
    estimate resampled to ×``scale`` before the projection (:mod:`srcli.maths.resample`)."""

    stages: list[Model]
    scale: int

    @property
    def estimate_scale(self) -> int:
        return total_scale(self.stages)

    @property
    def resampled(self) -> bool:
        return self.estimate_scale != self.scale

    def describe(self) -> str:
        """What runs, in words: ``compact-x8 (×8), resampled to ×5``."""
        chain = " → ".join(f"{stage.name} (×{stage.scale})" for stage in self.stages)
        return f"{chain}, resampled to ×{self.scale}" if self.resampled else chain


def shipped_by_scale(degradation: str = "box") -> dict[int, ModelEntry]:
    """The shipped default SR model of each scale: one trained for ``degradation`` (a spec's kind, as
    ``bicubic``) where the manifest has one, else the box one."""
    found: dict[int, ModelEntry] = {}
    for entry in sorted(defaults("sr"), key=lambda entry: entry.degradation == degradation):
        if entry.degradation in ("box", degradation):
            found[entry.scale] = entry
    return found


def factors(scale: int, scales: Collection[int]) -> list[int] | None:
    """The fewest ``scales`` (smallest first) whose product is ``scale``, or None.

    Example:
        >>> factors(8, {2, 4}), factors(6, {2, 3, 4}), factors(5, {2, 4, 8})
        ([2, 4], [2, 3], None)
    """
    paths: dict[int, list[int]] = {1: []}
    frontier = [1]
    while frontier:
        following = []
        for reached in frontier:
            for factor in sorted(scales):
                product = reached * factor
                if factor > 1 and scale % product == 0 and product not in paths:
                    paths[product] = sorted([*paths[reached], factor])
                    following.append(product)
        frontier = following
    return paths.get(scale) if scale > 1 else None


def sr_plan(
    spec: str | None, scale: int | None, degradation: str = "box", found: tuple[Model, dict[str, str]] | None = None
) -> SRPlan:
    """The SR models that take an image to ×``scale`` (None: the model's own, else ×4).

    With ``spec`` that model alone: of ``scale``, or of a larger one and resampled. Otherwise the shipped
    default of ``scale`` (:func:`shipped_by_scale` for ``degradation``), else the fewest shipped defaults
    whose scales multiply to it (×8 = ×2 then ×4), else those of the next larger scale such a product
    reaches, resampled (×5 from ×8, ×3 from ×4 while no ×3 ships). ``found``: ``spec``'s model and header,
    where they are loaded already.
    """
    if spec is not None:
        model, _ = checked_task(found, "sr") if found is not None else resolve(spec, "sr")
        if scale is not None and model.scale < scale:
            raise ModelError(
                f"model {model.name} upscales ×{model.scale}, but scale {scale} was asked "
                "(a model is resampled down to a smaller scale, never up)"
            )
        return SRPlan([model], model.scale if scale is None else scale)
    scale = DEFAULT_SCALE if scale is None else scale
    by_scale = shipped_by_scale(degradation)
    for reach in range(scale, MAX_SCALE + 1):
        chain = factors(reach, by_scale)
        if chain is not None:
            return SRPlan([resolve(by_scale[factor].name, "sr")[0] for factor in chain], scale)
    shipped = ", ".join(f"×{s}" for s in sorted(by_scale)) or "none"
    raise ModelError(f"no shipped model upscales ×{scale} (shipped: {shipped}); pass a checkpoint path as the model")


def total_scale(stages: list[Model]) -> int:
    """The factor a chain of SR stages upscales by."""
    return math.prod(stage.scale for stage in stages)


def cs_model(spec: str | None, ratio: float, seed: int) -> Model:
    """The CS model for measurements taken at ``ratio`` with ``seed``.

    With ``spec`` that model (a name or a path); otherwise the shipped default for ``ratio``.
    A CSNet's initial stage is fitted to the sensing rows of one seed, so the seed must match.
    """
    if spec is None:
        shipped = defaults("cs")
        matching = [e for e in shipped if e.ratio is not None and abs(e.ratio - ratio) < 1e-9]
        if not matching:
            ratios = ", ".join(str(e.ratio) for e in sorted(shipped, key=lambda e: e.ratio or 0)) or "none"
            raise ModelError(
                f"no shipped model reconstructs ratio {ratio} (shipped: {ratios}); pass a checkpoint path as the model"
            )
        spec = matching[0].name
    model, metadata = resolve(spec, "cs")
    model_ratio, model_seed = float(metadata.get("ratio", "nan")), int(metadata.get("sensing_seed", "-1"))
    if abs(model_ratio - ratio) > 1e-9:
        raise ModelError(f"{model.name} reconstructs ratio {model_ratio}, these measurements have ratio {ratio}")
    if model_seed != seed:
        raise ModelError(
            f"{model.name} was trained for sensing seed {model_seed}, these measurements use seed {seed}; "
            f"sample them again with seed {model_seed}"
        )
    return model


def colorize_model(spec: str | None) -> Model:
    """The colorization model by name or path, or the shipped default."""
    return resolve(spec if spec is not None else default_name("colorize", "colorization"), "colorize")[0]
