"""Checkpoints (safetensors, config in the header), architecture detection, the PD wrapper."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from srcli.archs.colornet import ColorNet, colornet_from_state_dict, is_colornet
from srcli.archs.compact import SRVGGNetCompact, compact_from_state_dict, is_compact
from srcli.archs.csnet import CSNet, csnet_from_state_dict, is_csnet
from srcli.archs.rrdb_layouts import is_old_rrdbnet, to_basicsr_layout
from srcli.archs.rrdbnet import RRDBNet, is_rrdbnet, rrdbnet_from_state_dict
from srcli.archs.srresnet import SRResNet, is_srresnet, srresnet_from_state_dict
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
    "colornet": (is_colornet, colornet_from_state_dict),  # colornet and csnet before compact:
    "csnet": (is_csnet, csnet_from_state_dict),  # their bodies have the same keys
    "compact": (is_compact, compact_from_state_dict),
    "srresnet": (is_srresnet, srresnet_from_state_dict),
    "rrdbnet": (is_rrdbnet, rrdbnet_from_state_dict),
}
NETWORK_CLASSES: dict[str, type[nn.Module]] = {
    "colornet": ColorNet,
    "csnet": CSNet,
    "compact": SRVGGNetCompact,
    "srresnet": SRResNet,
    "rrdbnet": RRDBNet,
}


def build_network(arch: str, config: Mapping[str, int]) -> nn.Module:
    """A fresh, randomly initialised network of a named architecture."""
    if arch in NETWORK_CLASSES:
        return NETWORK_CLASSES[arch](**config)
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
    for name, network_class in NETWORK_CLASSES.items():
        if isinstance(net, network_class):
            return name
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
    """Tensors from ``.safetensors``, or ``.pth``/``.pt`` through ``weights_only=True`` (no pickle code),
    under the keys of srcli's architectures (older RRDBNet layouts are renamed)."""
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
    if is_old_rrdbnet(state):
        try:
            return to_basicsr_layout(state)
        except ValueError as error:
            raise ModelError(f"{path.name}: {error}") from None
    return state


def load_network(path: Path) -> tuple[nn.Module, dict[str, str]]:
    """A network in eval mode with its weights, and the checkpoint's metadata."""
    state_dict = load_state_dict(path)
    net = detect_architecture(state_dict)
    net.load_state_dict(state_dict, strict=True)
    metadata = read_metadata(path) if path.suffix == ".safetensors" else {}
    return net.eval(), metadata


def weights_dir() -> Path:
    """Where the shipped weights are: inside the installed wheel, or ``weights/`` of a checkout."""
    packaged = Path(__file__).parent / "weights"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "weights"


@dataclass(frozen=True)
class ModelEntry:
    """One row of ``weights/manifest.json``."""

    name: str
    task: str
    scale: int
    arch: str
    file: str
    sha256: str
    size: int
    default: bool = False
    repo: str | None = None
    revision: str = "main"
    metrics: dict[str, object] = field(default_factory=dict)
    training: dict[str, object] = field(default_factory=dict)
    ratio: float | None = None
    seed: int | None = None

    @property
    def shipped_path(self) -> Path:
        return weights_dir() / self.file

    @property
    def shipped(self) -> bool:
        return self.shipped_path.is_file()


def load_manifest() -> list[ModelEntry]:
    """The models srcli knows by name."""
    path = weights_dir() / "manifest.json"
    if not path.is_file():
        return []
    return [ModelEntry(**entry) for entry in json.loads(path.read_text())["models"]]


@dataclass(frozen=True)
class LoadedModel:
    """A network ready for inference, with what reports need to say about it."""

    net: nn.Module
    name: str
    scale: int


def _looks_like_path(spec: str) -> bool:
    return spec.endswith((".safetensors", ".pth", ".pt")) or "/" in spec or Path(spec).exists()


def find_entry(name: str) -> ModelEntry:
    """The manifest entry called ``name``."""
    entries = {entry.name: entry for entry in load_manifest()}
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise ModelError(f"unknown model {name!r} (known: {known}; or pass a checkpoint path)")
    return entries[name]


def local_path(entry: ModelEntry) -> Path:
    """The entry's weights on this machine: shipped in the package, else pulled into the Hub cache."""
    if entry.shipped:
        return entry.shipped_path
    from srcli.hub import pull

    return pull(entry)


SR_NETWORKS = (SRVGGNetCompact, SRResNet, RRDBNet)
OTHER_TASKS = {
    ColorNet: "a colorization model (use `srcli colorize`)",
    CSNet: "a compressed-sensing model (use `srcli cs reconstruct`)",
}


def load_model(spec: str) -> LoadedModel:
    """An SR model by manifest name (pulled on first use if it is not shipped) or by checkpoint path."""
    path = Path(spec) if _looks_like_path(spec) else local_path(find_entry(spec))
    name = path.name if _looks_like_path(spec) else spec
    net, _ = load_network(path)
    if not isinstance(net, SR_NETWORKS):
        raise ModelError(f"{name} is {OTHER_TASKS.get(type(net), 'not a super-resolution model')}, not an upscaler")
    return LoadedModel(net, name, net.scale)


DEFAULT_SCALE = 4


def sr_stages(spec: str | None, scale: int | None) -> list[LoadedModel]:
    """The SR models that take an image to ×``scale``: one, or a cascade whose scales multiply to it.

    With ``spec`` that model alone (its scale must be ``scale``, or ``scale`` is None). Otherwise
    the shipped default for ``scale`` (None: ×4); where there is none, a cascade of shipped
    defaults (×8 = ×2 then ×4).
    """
    if spec is not None:
        model = load_model(spec)
        if scale is not None and model.scale != scale:
            raise ModelError(f"model {model.name} upscales ×{model.scale}, but --scale {scale} was asked")
        return [model]
    scale = DEFAULT_SCALE if scale is None else scale
    defaults = {entry.scale: entry for entry in load_manifest() if entry.task == "sr" and entry.default}
    if scale in defaults:
        return [load_model(defaults[scale].name)]
    for first, second in ((2, scale // 2), (scale // 4, 4)):
        if first * second == scale and first in defaults and second in defaults:
            return [load_model(defaults[first].name), load_model(defaults[second].name)]
    shipped = ", ".join(f"×{s}" for s in sorted(defaults)) or "none"
    raise ModelError(f"no shipped model upscales ×{scale} (shipped: {shipped}); pass --model PATH")


def total_scale(stages: list[LoadedModel]) -> int:
    """The factor a chain of SR stages upscales by."""
    return math.prod(stage.scale for stage in stages)


def cs_model(spec: str | None, ratio: float, seed: int) -> tuple[CSNet, str]:
    """The CS network for measurements taken at ``ratio`` with ``seed``, and its name.

    With ``spec`` that model (a name or a path); otherwise the shipped default for ``ratio``.
    A CSNet's initial stage is fitted to the sensing rows of one seed, so the seed must match.
    """
    if spec is None:
        defaults = [e for e in load_manifest() if e.task == "cs" and e.default]
        matching = [e for e in defaults if e.ratio is not None and abs(e.ratio - ratio) < 1e-9]
        if not matching:
            shipped = ", ".join(str(e.ratio) for e in sorted(defaults, key=lambda e: e.ratio or 0)) or "none"
            raise ModelError(f"no shipped model reconstructs ratio {ratio} (shipped: {shipped}); pass --model PATH")
        spec = matching[0].name
    path = Path(spec) if _looks_like_path(spec) else local_path(find_entry(spec))
    net, metadata = load_network(path)
    if not isinstance(net, CSNet):
        raise ModelError(f"{spec} is not a compressed-sensing model")
    model_ratio, model_seed = float(metadata.get("ratio", "nan")), int(metadata.get("sensing_seed", "-1"))
    if abs(model_ratio - ratio) > 1e-9:
        raise ModelError(f"{spec} reconstructs ratio {model_ratio}, these measurements have ratio {ratio}")
    if model_seed != seed:
        raise ModelError(
            f"{spec} was trained for sensing seed {model_seed}, these measurements use seed {seed}; "
            f"sample again with --seed {model_seed}"
        )
    return net, Path(spec).name if _looks_like_path(spec) else spec


def colorize_model(spec: str | None) -> tuple[ColorNet, str]:
    """The colorization network by name or path, or the shipped default; and its name."""
    if spec is None:
        defaults = [e for e in load_manifest() if e.task == "colorize" and e.default]
        if not defaults:
            raise ModelError("no colorization model ships with this srcli; pass --model PATH")
        spec = defaults[0].name
    path = Path(spec) if _looks_like_path(spec) else local_path(find_entry(spec))
    net, _ = load_network(path)
    if not isinstance(net, ColorNet):
        raise ModelError(f"{spec} is not a colorization model")
    return net, Path(spec).name if _looks_like_path(spec) else spec
