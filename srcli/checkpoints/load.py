"""Checkpoint files: read any supported layout safely, build its network, write srcli's own.

Reading never runs code: safetensors, or ``torch.load(weights_only=True)`` for ``.pth``/``.pt``.
srcli's own checkpoints are safetensors with the network config and training record in the header.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save
from torch import nn

from srcli.archs import ARCHITECTURES, Model, architecture_of, model_from_state_dict, network_from_state_dict
from srcli.archs.rrdb_layouts import is_old_rrdbnet, to_basicsr_layout
from srcli.errors import ModelError, first_line
from srcli.io.atomic import write_bytes_atomic

FORMAT = "srcli"
NESTED_KEYS = ("params_ema", "params", "state_dict", "model")
"""Where trainers nest the weights (BasicSR's ``params_ema`` first: the weight average it ships)."""


def build_network(arch: str, config: Mapping[str, int | str]) -> nn.Module:
    """A fresh, randomly initialised network of a named architecture."""
    if arch not in ARCHITECTURES:
        raise ModelError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch].network(**config)


def save_checkpoint(path: Path, net: nn.Module, metadata: Mapping[str, object]) -> None:
    """Write ``net``'s weights to safetensors with ``metadata`` as JSON strings in the header (atomically,
    replacing ``path``, with the permissions a plain write would give)."""
    header = {"format": FORMAT, "arch": architecture_of(net).name, "config": json.dumps(net.config)}
    header.update({key: value if isinstance(value, str) else json.dumps(value) for key, value in metadata.items()})
    tensors = {key: value.detach().contiguous().cpu() for key, value in net.state_dict().items()}
    write_bytes_atomic(save(tensors, metadata=header), path, overwrite=True, make_folders=True)


def read_metadata(path: Path) -> dict[str, str]:
    """The header metadata of a safetensors file (empty for files that have none)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except Exception as error:  # safetensors raises its own and OS errors for unreadable files
        raise ModelError(f"cannot read {path.name}: {first_line(error)}") from None


def checkpoint_header(path: Path) -> dict[str, str]:
    """The header of a checkpoint file: a safetensors file's metadata, empty for other formats."""
    return read_metadata(path) if path.suffix == ".safetensors" else {}


def _read_tensors(path: Path) -> object:
    """What the file holds, read without running code; every failure is one :class:`ModelError` line."""
    try:
        if path.suffix == ".safetensors":
            return load_file(str(path))
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing: the refusal says it
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a weights-only refusal, a truncated zip, a text file: all mean "unusable"
        if path.suffix == ".safetensors":
            raise ModelError(f"cannot read {path.name}: not a valid safetensors file ({first_line(error)})") from None
        raise ModelError(
            f"cannot read {path.name}: not a weights-only PyTorch checkpoint (srcli never unpickles code; "
            "convert it to .safetensors with the tool that made it)"
        ) from None


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    """The state dict a file holds, as stored (unnested from trainers' wrappers), every tensor finite."""
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    state = _read_tensors(path)
    for key in NESTED_KEYS:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path.name} holds no state dict of tensors")
    bad = [key for key, value in state.items() if value.is_floating_point() and not torch.isfinite(value).all()]
    if bad:
        raise ModelError(f"{path.name}: {len(bad)} tensor(s) hold NaN or infinite values (first: {bad[0]})")
    return state


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from ``.safetensors``, or ``.pth``/``.pt`` through ``weights_only=True`` (no pickle code),
    under the keys of srcli's architectures (older RRDBNet layouts are renamed)."""
    state = _tensors(path)
    if is_old_rrdbnet(state):
        try:
            return to_basicsr_layout(state)
        except ValueError as error:
            raise ModelError(f"{path.name}: {error}") from None
    return state


def header_config(metadata: Mapping[str, str]) -> dict[str, object]:
    """The network config srcli's header records (``{}`` for a checkpoint srcli did not write)."""
    if metadata.get("format") != FORMAT or "config" not in metadata:
        return {}
    try:
        config = json.loads(metadata["config"])
    except json.JSONDecodeError:
        config = None
    if not isinstance(config, dict):
        raise ModelError(f"the header's network config is not a JSON object: {metadata['config'][:60]!r}")
    return config


def _network(state_dict: Mapping[str, torch.Tensor], name: str, config: Mapping[str, object]) -> nn.Module | None:
    """:func:`srcli.archs.network_from_state_dict` with its refusals as one :class:`ModelError` line."""
    try:
        return network_from_state_dict(state_dict, config)
    except ValueError as error:
        raise ModelError(f"{name}: {error}") from None


def _unknown(state_dict: Mapping[str, torch.Tensor], name: str) -> ModelError:
    hint = "" if importlib.util.find_spec("spandrel") else "; srcli[spandrel] knows many more"
    return ModelError(f"{name}: unknown architecture (first keys: {', '.join(list(state_dict)[:4])}){hint}")


def load_network(path: Path) -> tuple[nn.Module, dict[str, str]]:
    """A network in eval mode with its weights, and the checkpoint's metadata."""
    state_dict = _tensors(path)
    metadata = read_metadata(path) if path.suffix == ".safetensors" else {}
    config = header_config(metadata)
    net = _network(state_dict, path.name, config)
    if net is None:
        raise _unknown(state_dict, path.name)
    return net.eval(), metadata


def trained_correction(metadata: Mapping[str, str]) -> str:
    """The PD correction a checkpoint's network suits: the one srcli trained it through (``nearest``
    unless its header says ``correction``), else ``smooth`` (a foreign network, or one trained bare,
    learnt nothing of nearest PD's s×s blocks and shows them as a grid)."""
    if metadata.get("format") == FORMAT and metadata.get("pd") == "true":
        return metadata.get("correction", "nearest")
    return "smooth"


def trained_degradation(metadata: Mapping[str, str]) -> str | None:
    """The LR degradation an SR checkpoint srcli trained was made for: its header's ``degradation``, else
    ``box`` (a header without that field); None for any other checkpoint."""
    if metadata.get("format") == FORMAT and metadata.get("task") == "sr":
        return metadata.get("degradation", "box")
    return None


def load_model(path: Path, name: str | None = None) -> tuple[Model, dict[str, str]]:
    """:func:`load_network` described (:class:`srcli.archs.Model`), named ``name`` or the file's name,
    with the correction it suits (:func:`trained_correction`) and the LR it was trained for
    (:func:`trained_degradation`); a state dict srcli's registry does not know goes to spandrel where the
    extra is installed (:func:`srcli.archs.model_from_state_dict`)."""
    state_dict = _tensors(path)
    metadata = checkpoint_header(path)
    correction, trained_on = trained_correction(metadata), trained_degradation(metadata)
    config = header_config(metadata)
    try:
        model = model_from_state_dict(state_dict, name or path.name, config)
    except ValueError as error:
        raise ModelError(str(error)) from None
    if model is None:
        raise _unknown(state_dict, path.name)
    return replace(model, correction=correction, trained_on=trained_on), metadata
