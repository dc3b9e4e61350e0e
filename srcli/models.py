"""Resolve a model the user names: a manifest name (shipped, or pulled from the Hub) or a checkpoint path.

:func:`resolve` is the one way a task gets its network: it loads, describes and checks the task;
:func:`sr_stages` chains shipped SR models where no single one has the asked scale.
"""

from __future__ import annotations

import math
from pathlib import Path

from srcli.archs import Model
from srcli.checkpoint import load_model
from srcli.errors import ModelError
from srcli.manifest import ModelEntry, check_sha256, defaults, find_entry

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
    package, else pulled into the Hub cache (where :func:`srcli.hub.pull` checks them)."""
    if entry.shipped:
        check_sha256(entry, entry.shipped_path)
        return entry.shipped_path
    from srcli.hub import pull

    return pull(entry)


def load_named(spec: str) -> tuple[Model, dict[str, str]]:
    """The model ``spec`` names (a manifest name or a checkpoint path), whatever its task, and its header."""
    if looks_like_path(spec):
        return load_model(Path(spec))
    return load_model(local_path(find_entry(spec)), spec)


def resolve(spec: str, task: str) -> tuple[Model, dict[str, str]]:
    """The model ``spec`` names, for ``task`` (``sr``, ``colorize``, ``cs`` or ``kernel``), and its checkpoint
    header.

    Raises :class:`ModelError` when it cannot be loaded or does another task.
    """
    model, metadata = load_named(spec)
    if model.task != task:
        raise ModelError(f"{model.name} is {TASK_WORDS[model.task]}, not {TASK_WORDS[task].split(' (')[0]}")
    return model, metadata


def describe_file(path: Path) -> dict[str, object]:
    """What a checkpoint file holds, for ``srcli models info PATH``: its network described (architecture,
    task, scale, parameters, receptive radius, input multiple, default correction), its configuration,
    the header srcli wrote (training record) and the file's size and sha256. Raises :class:`ModelError`."""
    from srcli.hub import sha256_of

    model, metadata = load_model(path)
    config = getattr(model.net, "config", {})
    return {
        "file": str(path),
        "size": path.stat().st_size,
        "sha256": sha256_of(path),
        "task": model.task,
        **model.as_json(),
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


def sr_stages(spec: str | None, scale: int | None) -> list[Model]:
    """The SR models that take an image to ×``scale``: one, or a cascade whose scales multiply to it.

    With ``spec`` that model alone (its scale must be ``scale``, or ``scale`` is None). Otherwise
    the shipped default for ``scale`` (None: ×4); where there is none, a cascade of shipped
    defaults (×8 = ×2 then ×4).
    """
    if spec is not None:
        model, _ = resolve(spec, "sr")
        if scale is not None and model.scale != scale:
            raise ModelError(f"model {model.name} upscales ×{model.scale}, but scale {scale} was asked")
        return [model]
    scale = DEFAULT_SCALE if scale is None else scale
    by_scale = {entry.scale: entry for entry in defaults("sr")}
    if scale in by_scale:
        return [resolve(by_scale[scale].name, "sr")[0]]
    for first, second in ((2, scale // 2), (scale // 4, 4)):
        if first * second == scale and first in by_scale and second in by_scale:
            return [resolve(by_scale[first].name, "sr")[0], resolve(by_scale[second].name, "sr")[0]]
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
