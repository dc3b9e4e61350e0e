"""``realism``: a blend between an SR model trained for PSNR and a realistic (adversarially trained) one.

Where the two networks have one architecture and config, their weights are interpolated, as ESRGAN
does: ``θ = (1 − F) θ_psnr + F θ_realistic``. Otherwise their outputs are: ``(1 − F) f_psnr(x) +
F f_realistic(x)``. Either way PD and the exact quantisation run on the blend, so every blend is
exactly consistent; ``F = 0`` is the PSNR model itself and ``F = 1`` the realistic one.

The realistic model is the one named (a manifest name or a checkpoint path), else the manifest's
realistic model of the scale. Its PSNR end is, in this order: the manifest entry's ``psnr_model``, the
checkpoint header's ``psnr_model`` (a manifest name or a path, relative to the checkpoint's folder),
the shipped default SR model of the scale in the header's network config (else of the scale asked, ×4 by
default). Both files are found and checked first, then each is loaded once.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from srcli.archs import Model, describe, same_state_layout
from srcli.checkpoints.load import checkpoint_header, header_config, load_model
from srcli.checkpoints.manifest import defaults, find_entry, realistic_entries
from srcli.checkpoints.resolve import DEFAULT_SCALE, checked_task, locate, looks_like_path
from srcli.errors import ModelError, OptionError


class OutputBlend(nn.Module):
    """``(1 − realism) · psnr(x) + realism · realistic(x)``: two SR networks of one scale, any architectures."""

    def __init__(self, psnr: nn.Module, realistic: nn.Module, realism: float) -> None:
        super().__init__()
        self.psnr, self.realistic, self.realism = psnr, realistic, realism

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.lerp(self.psnr(x), self.realistic(x), self.realism)


def same_layout(first: nn.Module, second: nn.Module) -> bool:
    """Whether two networks have one architecture, config and state-dict layout (their weights interpolate)."""
    if type(first) is not type(second) or getattr(first, "config", None) != getattr(second, "config", None):
        return False
    return same_state_layout(first.state_dict(), second.state_dict())


def interpolate_weights(psnr: nn.Module, realistic: nn.Module, realism: float) -> nn.Module:
    """A copy of ``psnr`` with weights ``(1 − realism) θ_psnr + realism θ_realistic`` (computed in float64)."""
    theirs = realistic.state_dict()
    blended = {
        key: torch.lerp(value.double(), theirs[key].double(), realism).to(value.dtype)
        if value.is_floating_point()
        else value
        for key, value in psnr.state_dict().items()
    }
    net = copy.deepcopy(psnr)
    net.load_state_dict(blended)
    return net.eval()


def blend(psnr: Model, realistic: Model, realism: float) -> Model:
    """The model between ``psnr`` (``realism`` 0) and ``realistic`` (1): interpolated weights where the
    layouts match, interpolated outputs otherwise. Both must upscale by one factor. Its correction is the
    one both ends were trained through, else ``smooth`` (it adds no grid to either)."""
    if not 0 <= realism <= 1:
        raise OptionError(f"realism must be between 0 and 1, got {realism}")
    if psnr.scale != realistic.scale:
        raise ModelError(
            f"{realistic.name} upscales ×{realistic.scale} but its PSNR model {psnr.name} ×{psnr.scale}; ask for "
            f"scale {realistic.scale}, or name its PSNR model as psnr_model in the realistic checkpoint's header"
        )
    if realism == 0:
        return psnr
    if realism == 1:
        return realistic
    name = f"{psnr.name} ↔ {realistic.name} (realism {realism:g})"
    correction = psnr.correction if psnr.correction == realistic.correction else "smooth"
    if same_layout(psnr.net, realistic.net):
        return replace(describe(interpolate_weights(psnr.net, realistic.net, realism), name), correction=correction)
    return Model(
        net=OutputBlend(psnr.net, realistic.net, realism),
        name=name,
        arch=f"{psnr.arch}+{realistic.arch}",
        task="sr",
        scale=psnr.scale,
        input_multiple=math.lcm(psnr.input_multiple, realistic.input_multiple),
        receptive_radius=max(psnr.receptive_radius, realistic.receptive_radius),
        features=max(psnr.features, realistic.features),
        parameters=psnr.parameters + realistic.parameters,
        correction=correction,
    )


def _psnr_spec(spec: str, header: dict[str, str], scale: int | None) -> str:
    """Where the realistic model ``spec`` (checkpoint header ``header``, asked for ``scale``) says its PSNR
    end is (see the module docstring)."""
    entry_link = None if looks_like_path(spec) else find_entry(spec).psnr_model
    if entry_link:
        return entry_link
    linked = header.get("psnr_model")
    if linked:
        if looks_like_path(linked) and not Path(linked).is_absolute():
            return str(Path(spec).parent / linked)
        return linked
    own = header_config(header).get("scale")
    return default_name_for_scale(own if isinstance(own, int) else scale or DEFAULT_SCALE)


def default_name_for_scale(scale: int) -> str:
    """The shipped default SR model of exactly ``scale`` for box LR, as the realistic models are trained
    (no cascade: a blend needs one network per end)."""
    for entry in defaults("sr"):
        if entry.scale == scale and entry.degradation == "box":
            return entry.name
    raise ModelError(
        f"no ×{scale} PSNR model ships to blend with; name one as psnr_model in the realistic checkpoint's header"
    )


def realism_model(
    spec: str | None, scale: int | None, realism: float, found: tuple[Model, dict[str, str]] | None = None
) -> Model:
    """The SR model that ``realism`` asks of the realistic model ``spec`` (else the shipped realistic
    one of ``scale``, ×4 by default) and its PSNR end. ``found``: ``spec``'s model and header, where they are
    loaded already."""
    if not 0 <= realism <= 1:
        raise OptionError(f"realism must be between 0 and 1, got {realism}")
    if spec is None:
        wanted = DEFAULT_SCALE if scale is None else scale
        entries = realistic_entries(wanted)
        if not entries:
            raise ModelError(
                f"no realistic ×{wanted} model ships with this srcli; name one (a checkpoint path) as the model"
            )
        spec = entries[0].name
    if found is None:
        realistic_file = locate(spec)
        files = [locate(_psnr_spec(spec, checkpoint_header(realistic_file[0]), scale)), realistic_file]
    else:
        files = [locate(_psnr_spec(spec, found[1], scale))]
    psnr, *loaded = [checked_task(load_model(*file), "sr")[0] for file in files]
    realistic = checked_task(found, "sr")[0] if found is not None else loaded[0]
    if scale is not None and realistic.scale != scale:
        raise ModelError(f"model {realistic.name} upscales ×{realistic.scale}, but scale {scale} was asked")
    return blend(psnr, realistic, realism)
