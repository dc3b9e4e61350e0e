"""The NIQE pristine model as a file: ``weights/niqe-pristine.safetensors`` (a statistics file, not a network).

Two float64 tensors, ``mean`` ``(36,)`` and ``cov`` ``(36, 36)``, the Gaussian of the sharpest
96×96 patches of the CBSD432 training photos, fitted by ``benchmarks/realism/niqe_fit.py``; its header says
how. Its provenance (data, command, patches, sha256) is ``weights/niqe-pristine.json`` beside it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import load_file, save_file

from srcli.checkpoints.manifest import weights_dir
from srcli.errors import ModelError
from srcli.maths.niqe import FEATURES, PristineModel

FILE = "niqe-pristine.safetensors"


def shipped_path() -> Path:
    """Where the shipped pristine model is: inside the wheel, or ``weights/`` of a checkout."""
    return weights_dir() / FILE


def save_pristine(path: Path, model: PristineModel, metadata: Mapping[str, str]) -> None:
    """Write ``model`` to safetensors with ``metadata`` (strings) and its patch count in the header."""
    header = {"format": "srcli-niqe-pristine", "patches": str(model.patches), **metadata}
    tensors = {"mean": model.mean.contiguous(), "cov": model.cov.contiguous()}
    save_file(tensors, str(path), metadata=header)


def load_pristine(path: Path) -> PristineModel:
    """A pristine model file; :class:`ModelError` if it is not one."""
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            patches = int((handle.metadata() or {}).get("patches", "0"))
    except Exception as error:  # missing, truncated or foreign: all mean "unusable"
        raise ModelError(f"cannot read the NIQE pristine model {path}: {error}") from None
    mean, cov = tensors.get("mean"), tensors.get("cov")
    if mean is None or cov is None or mean.shape != (FEATURES,) or cov.shape != (FEATURES, FEATURES):
        raise ModelError(f"{path} is not a NIQE pristine model (mean (36,) and cov (36, 36) expected)")
    return PristineModel(mean.double(), cov.double(), patches)


@functools.cache
def shipped_pristine() -> PristineModel:
    """The pristine model srcli ships (read once)."""
    return load_pristine(shipped_path())
