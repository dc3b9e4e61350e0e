"""A training run's resumable state in one safetensors file: model, Adam, step, the weight
average (if any), the networks trained beside the model (a GAN's discriminator) with their Adam,
elapsed seconds, the training time of its start weights and the schedule it belongs to.

Keys ``model.*``, ``optim.<param>.<exp_avg|exp_avg_sq|step>``, ``ema.*`` and, for a critic
network ``NAME``, ``critic.NAME.model.*`` and ``critic.NAME.optim.*``; the rest is in the header.
Written atomically (:func:`srcli.io.atomic.write_bytes_atomic`: a temporary file, then a rename), so an
interrupted write leaves the previous state, with the permissions a plain write would give.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save
from torch import nn

from srcli.archs import same_state_layout
from srcli.io.atomic import write_bytes_atomic
from srcli.train.ema import WeightAverage

Trained = tuple[nn.Module, torch.optim.Optimizer]
"""A network and the Adam that trains it."""

WeightsFit = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]
"""A saved model's state dict → the same weights in another network's layout (a deeper one, say)."""


def _optimizer_tensors(optimizer: torch.optim.Optimizer, prefix: str = "") -> tuple[dict[str, torch.Tensor], str]:
    state = optimizer.state_dict()
    tensors = {
        f"{prefix}optim.{index}.{name}": value.detach().clone(memory_format=torch.contiguous_format)
        if value.ndim
        else value.reshape(1).clone()
        for index, entry in state["state"].items()
        for name, value in entry.items()
    }
    return tensors, json.dumps(state["param_groups"])


def _restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: str) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value.reshape(()) if name == "step" else value
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(groups)})


def _part_tensors(net: nn.Module, optimizer: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], str]:
    optim_tensors, groups = _optimizer_tensors(optimizer, prefix)
    weights = net.state_dict().items()
    tensors = {f"{prefix}model.{k}": v.detach().clone(memory_format=torch.contiguous_format) for k, v in weights}
    return tensors | optim_tensors, groups


def save_state(
    path: Path,
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    seconds: float,
    schedule: dict[str, object],
    average: WeightAverage | None = None,
    init_seconds: float = 0.0,
    critics: dict[str, Trained] | None = None,
) -> None:
    """Model, optimiser, step (and the weight average and critics, if any) in one safetensors file,
    written atomically; ``init_seconds`` is the training time of the weights the run started from."""
    tensors, groups = _part_tensors(net, optimizer, "")
    metadata = {
        "step": str(step),
        "seconds": repr(seconds),
        "param_groups": groups,
        "schedule": json.dumps(schedule),
        "init_seconds": repr(init_seconds),
    }
    for name, (critic, critic_optimizer) in (critics or {}).items():
        critic_tensors, metadata[f"critic.{name}.param_groups"] = _part_tensors(
            critic, critic_optimizer, f"critic.{name}."
        )
        tensors |= critic_tensors
    if average is not None:
        tensors |= {f"ema.{k}": v.clone(memory_format=torch.contiguous_format) for k, v in average.tensors.items()}
        metadata["ema_updates"] = str(average.updates)
    write_bytes_atomic(save(tensors, metadata=metadata), path, overwrite=True)


def is_state(path: Path) -> bool:
    """Whether ``path`` is a run state written by :func:`save_state` (not exported weights)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return "schedule" in (handle.metadata() or {})
    except (OSError, ValueError, RuntimeError, SafetensorError):  # not a safetensors file: the weights loader says why
        return False


def saved_training_seconds(path: Path) -> float:
    """The training time a state holds, with the runs before it."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    return float(metadata["seconds"]) + float(metadata.get("init_seconds", 0.0))


def saved_schedule(path: Path) -> dict[str, object]:
    """The schedule a state was written for (what must match to resume it)."""
    with safe_open(str(path), framework="pt") as handle:
        return json.loads(handle.metadata()["schedule"])


def saved_init_seconds(path: Path) -> float | None:
    """The training time of the run's start weights, as the state recorded it (None in states
    written before it was recorded)."""
    with safe_open(str(path), framework="pt") as handle:
        value = handle.metadata().get("init_seconds")
    return float(value) if value is not None else None


def load_state(
    path: Path,
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    critics: dict[str, Trained] | None = None,
    fit: WeightsFit | None = None,
) -> tuple[int, float]:
    """Restore a state written by :func:`save_state` into ``net``, ``optimizer`` and the ``critics``;
    returns ``(step, seconds)``. A critic the state does not hold is refused (``KeyError``). ``fit`` maps the
    state's model weights to ``net``'s layout (a warm start of a larger network); where it changes the layout,
    the model's Adam starts afresh (the saved moments belong to other parameters), the critics' go on."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(path))
    parts = [("", net, optimizer, "param_groups")]
    parts += [(f"critic.{name}.", *trained, f"critic.{name}.param_groups") for name, trained in (critics or {}).items()]
    for prefix, module, module_optimizer, groups in parts:
        weights, moments = f"{prefix}model.", f"{prefix}optim."
        saved = {k[len(weights) :]: v for k, v in tensors.items() if k.startswith(weights)}
        fitted = fit(saved) if fit is not None and not prefix else saved
        module.load_state_dict(fitted)
        if same_state_layout(fitted, saved):
            optim_tensors = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(moments)}
            _restore_optimizer(module_optimizer, optim_tensors, metadata[groups])
    return int(metadata["step"]), float(metadata["seconds"])


def restore_average(path: Path, average: WeightAverage, fit: WeightsFit | None = None) -> None:
    """The weight average saved in a state (``fit`` to the network's layout as in :func:`load_state`), if it has
    one; otherwise the average starts here."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
        if "ema_updates" not in metadata:
            return
        names = handle.keys()  # a safetensors handle is not iterable
        saved = {key[len("ema.") :]: handle.get_tensor(key) for key in names if key.startswith("ema.")}
    fitted = fit(saved) if fit is not None else saved
    for name, tensor in average.tensors.items():
        tensor.copy_(fitted[name])
    average.updates = int(metadata["ema_updates"])
