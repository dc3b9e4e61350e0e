"""Checkpoints (safetensors, config in the header), architecture detection, the PD wrapper."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from srcli.archs.compact import SRVGGNetCompact, compact_from_state_dict, is_compact
from srcli.ops import LinearOperator

FORMAT = "srcli"


class ModelError(ValueError):
    """A checkpoint that cannot be used: unreadable, unknown architecture, wrong task."""


class PDWrapper(nn.Module):
    """``x̂ = A⁺y + (I − A⁺A) net(y)``: the network only chooses the null-space part.

    ``forward``: measurement ``y`` → estimate ``x̂`` with ``A(x̂) == y`` (up to float rounding).
    """

    def __init__(self, net: nn.Module, operator: LinearOperator) -> None:
        super().__init__()
        self.net, self.operator = net, operator

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.operator.project(self.net(y), y)


ARCHITECTURES: dict[str, tuple[Callable[[Mapping[str, torch.Tensor]], bool], Callable[..., nn.Module]]] = {
    "compact": (is_compact, compact_from_state_dict),
}


def build_network(arch: str, config: Mapping[str, int]) -> nn.Module:
    """A fresh, randomly initialised network of a named architecture."""
    if arch == "compact":
        return SRVGGNetCompact(**config)
    raise ModelError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")


def detect_architecture(state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
    """Build the network a state dict belongs to, reading hyperparameters off its shapes."""
    for name, (matches, build) in ARCHITECTURES.items():
        if matches(state_dict):
            try:
                return build(state_dict)
            except (KeyError, ValueError, IndexError) as error:
                raise ModelError(f"looks like a {name} checkpoint but its shapes do not fit: {error}") from None
    raise ModelError(f"unknown architecture (first keys: {', '.join(list(state_dict)[:4])})")


def architecture_name(net: nn.Module) -> str:
    if isinstance(net, SRVGGNetCompact):
        return "compact"
    raise ModelError(f"no architecture name for {type(net).__name__}")


def save_checkpoint(path: Path, net: nn.Module, metadata: Mapping[str, object]) -> None:
    """Write ``net``'s weights to safetensors with ``metadata`` as JSON strings in the header."""
    header = {"format": FORMAT, "arch": architecture_name(net), "config": json.dumps(net.config)}
    header.update({key: value if isinstance(value, str) else json.dumps(value) for key, value in metadata.items()})
    tensors = {key: value.detach().contiguous().cpu() for key, value in net.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(temporary), metadata=header)
    temporary.replace(path)


def read_metadata(path: Path) -> dict[str, str]:
    """The header metadata of a safetensors file (empty for files that have none)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return dict(handle.metadata() or {})


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from ``.safetensors``, or ``.pth``/``.pt`` through ``weights_only=True`` (no pickle code)."""
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (SafetensorError, RuntimeError, OSError, EOFError, ValueError) as error:
        raise ModelError(f"cannot read {path.name}: {error}") from None
    for key in ("params_ema", "params", "state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path.name} holds no state dict of tensors")
    return state


def load_network(path: Path) -> tuple[nn.Module, dict[str, str]]:
    """A network in eval mode with its weights, and the checkpoint's metadata."""
    state_dict = load_state_dict(path)
    net = detect_architecture(state_dict)
    net.load_state_dict(state_dict, strict=True)
    metadata = read_metadata(path) if path.suffix == ".safetensors" else {}
    return net.eval(), metadata
