"""Network architectures, one module each with upstream state-dict keys, and the one registry.

Adding an architecture is its module plus one line in :data:`ARCHITECTURES`. Detection is strict
(each ``detect`` accepts only its own layout), so no order matters; :func:`describe` gives what the
engine needs to know about a network (task, scale, input multiple, receptive radius, ...);
:func:`model_from_state_dict` builds one from a state dict, through spandrel (``spandrel_models``, the optional
extra) for the architectures the registry does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from srcli.archs.colornet import DOWN, ColorNet, colornet_from_state_dict, is_colornet
from srcli.archs.colorunet import ColorUNet, colorunet_from_state_dict, is_colorunet
from srcli.archs.compact import SKIPS, SRVGGNetCompact, compact_from_state_dict, is_compact
from srcli.archs.csnet import CSNet, csnet_from_state_dict, is_csnet
from srcli.archs.rrdb_layouts import is_old_rrdbnet, to_basicsr_layout
from srcli.archs.rrdbnet import RRDBNet, is_rrdbnet, rrdbnet_from_state_dict
from srcli.archs.srresnet import SRResNet, is_srresnet, srresnet_from_state_dict
from srcli.archs.usrnet import GLOBAL_RADIUS, USRNet, is_usrnet, usrnet_from_state_dict


@dataclass(frozen=True)
class Architecture:
    """One registry line: a network class, its task, how to recognise and build it from a state dict,
    its receptive radius (input pixels, or measurement blocks for CS, that one output depends on), and whether
    it should see the whole image rather than tiles (a feature pooled over its input: tiles would change it)."""

    name: str
    task: str
    network: type[nn.Module]
    detect: Callable[[Mapping[str, torch.Tensor]], bool]
    from_state_dict: Callable[[Mapping[str, torch.Tensor]], nn.Module]
    receptive_radius: Callable[[Any], int]
    whole: bool = False


ARCHITECTURES: dict[str, Architecture] = {
    arch.name: arch
    for arch in (
        Architecture("compact", "sr", SRVGGNetCompact, is_compact, compact_from_state_dict,
                     lambda net: net.num_conv + 2),
        Architecture("srresnet", "sr", SRResNet, is_srresnet, srresnet_from_state_dict,
                     lambda net: 2 * net.num_block + 4),
        Architecture("rrdbnet", "sr", RRDBNet, is_rrdbnet, rrdbnet_from_state_dict,
                     lambda net: (15 * net.num_block + 4) * net.input_multiple),
        Architecture("colornet", "colorize", ColorNet, is_colornet, colornet_from_state_dict,
                     lambda net: DOWN * (net.num_conv + 2) + DOWN),
        Architecture("colorunet", "colorize", ColorUNet, is_colorunet, colorunet_from_state_dict,
                     lambda net: GLOBAL_RADIUS, whole=True),
        Architecture("csnet", "cs", CSNet, is_csnet, csnet_from_state_dict,
                     lambda net: -(-2 * (net.num_conv + 2) // net.block)),
        Architecture("usrnet", "kernel", USRNet, is_usrnet, usrnet_from_state_dict, lambda net: GLOBAL_RADIUS),
    )
}  # fmt: skip


def detect(state_dict: Mapping[str, torch.Tensor]) -> Architecture | None:
    """The architecture whose layout ``state_dict`` has, or None. Detectors are disjoint; two that
    both accept a state dict are a bug in this registry."""
    found = [arch for arch in ARCHITECTURES.values() if arch.detect(state_dict)]
    if len(found) > 1:
        raise RuntimeError(f"architecture detection is ambiguous: {', '.join(a.name for a in found)}")
    return found[0] if found else None


def network_from_state_dict(
    state_dict: Mapping[str, torch.Tensor], config: Mapping[str, object] | None = None
) -> nn.Module | None:
    """The registered network whose layout ``state_dict`` has, with its weights (hyperparameters read off the shapes,
    older RRDBNet layouts renamed first) and the settings of a checkpoint header's ``config`` that no tensor holds;
    None for a layout no architecture here has. Raises ValueError, naming the architecture, when the tensors do not
    fit it or a setting cannot be taken."""
    if is_old_rrdbnet(state_dict):
        state_dict = to_basicsr_layout(state_dict)
    arch = detect(state_dict)
    if arch is None:
        return None
    try:
        net = arch.from_state_dict(state_dict)
        net.load_state_dict(state_dict, strict=True)
    except (KeyError, ValueError, IndexError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"looks like a {arch.name} checkpoint but its tensors do not fit: {reason}") from None
    return with_settings(net, config or {})


def model_from_state_dict(
    state_dict: Mapping[str, torch.Tensor], name: str, config: Mapping[str, object] | None = None
) -> Model | None:
    """The :class:`Model` of ``state_dict`` named ``name``: a registered network (:func:`network_from_state_dict`,
    in eval mode), else one spandrel recognises where the ``srcli[spandrel]`` extra is installed
    (:mod:`srcli.archs.spandrel_models`); None for a layout neither knows. Raises ValueError, its message starting
    with ``name``, for tensors that do not fit the layout they have or a network that is no RGB SR model."""
    try:
        net = network_from_state_dict(state_dict, config)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    if net is not None:
        return describe(net.eval(), name)
    from srcli.archs.spandrel_models import spandrel_model

    return spandrel_model(state_dict, name)


def same_state_layout(first: Mapping[str, torch.Tensor], second: Mapping[str, torch.Tensor]) -> bool:
    """Whether two state dicts hold the same names with the same shapes."""
    return first.keys() == second.keys() and all(first[key].shape == second[key].shape for key in first)


def with_settings(net: nn.Module, config: Mapping[str, object]) -> nn.Module:
    """``net`` given the settings of a checkpoint's header ``config`` that no tensor holds: a compact net's
    ``skip``. Raises ValueError for a setting it cannot take."""
    if isinstance(net, SRVGGNetCompact) and "skip" in config:
        if config["skip"] not in SKIPS:
            raise ValueError(f"skip must be one of {', '.join(SKIPS)}, got {config['skip']!r}")
        net.skip = str(config["skip"])
    return net


def architecture_of(net: nn.Module) -> Architecture:
    """The registry line of a network instance."""
    for arch in ARCHITECTURES.values():
        if type(net) is arch.network:
            return arch
    raise KeyError(f"{type(net).__name__} is not a registered architecture")


@dataclass(frozen=True)
class Model:
    """A network ready for a task, with what the engine and the reports need to know about it.

    ``scale`` is the SR factor (1 for colorization and CS); input sides must be multiples of
    ``input_multiple``; one output pixel depends on inputs up to ``receptive_radius`` away;
    ``features`` (channels of the widest layer) sizes the automatic tile; ``correction`` is the right
    inverse PD corrects an SR network with by default (``nearest`` for one trained through nearest PD,
    ``smooth`` for any other, see :data:`srcli.maths.operators.CORRECTIONS`); ``trained_on`` is the LR degradation an
    SR network was trained for (``box``, ``bicubic``), None where unknown (a network srcli did not train).
    """

    net: nn.Module
    name: str
    arch: str
    task: str
    scale: int
    input_multiple: int
    receptive_radius: int
    features: int
    parameters: int
    correction: str = "smooth"
    trained_on: str | None = None
    whole: bool = False  # tiles discouraged (the network tiles internally, or seams show): untiled by default

    def named(self, name: str) -> Model:
        return replace(self, name=name)

    def as_json(self) -> dict[str, object]:
        """What a report says of the model: name, architecture, parameters, scale, default correction."""
        return {"model": self.name, "arch": self.arch, "parameters": self.parameters, "scale": self.scale,
                "correction": self.correction}  # fmt: skip


def describe(net: nn.Module, name: str = "") -> Model:
    """The :class:`Model` of a registered network instance."""
    arch = architecture_of(net)
    network: Any = net  # every registered class has num_feat and input_multiple; SR classes have scale
    return Model(
        net=net,
        name=name or arch.name,
        arch=arch.name,
        task=arch.task,
        scale=int(network.scale) if arch.task == "sr" else 1,
        input_multiple=int(network.input_multiple),
        receptive_radius=arch.receptive_radius(net),
        features=int(network.num_feat),
        parameters=sum(p.numel() for p in net.parameters()),
        whole=arch.whole,
    )
