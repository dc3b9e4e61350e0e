"""The two older RRDBNet key layouts, renamed to BasicSR's (:mod:`srcli.archs.rrdbnet`).

Most ×4 ESRGAN checkpoints people have predate BasicSR's names; the tensors are the same,
only the keys differ:

    original ESRGAN (``RRDB_ESRGAN_x4.pth``)    BSRGAN / RealSR                 BasicSR
    model.0                                     conv_first                      conv_first
    model.1.sub.i.RDBj.convk.0                  RRDB_trunk.i.RDBj.convk         body.i.rdbj.convk
    model.1.sub.N   (N = number of blocks)      trunk_conv                      conv_body
    model.3, model.6                            upconv1, upconv2                conv_up1, conv_up2
    model.8, model.10                           HRconv, conv_last               conv_hr, conv_last

Only ×4 checkpoints (two upsampling stages) fit BasicSR's RRDBNet; the others are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

_ESRGAN_BLOCK = re.compile(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)")
_BSRGAN_BLOCK = re.compile(r"RRDB_trunk\.(\d+)\.RDB(\d)\.conv(\d)\.(weight|bias)")
_ESRGAN_LAYERS = {"model.0": "conv_first", "model.3": "conv_up1", "model.6": "conv_up2"}
_ESRGAN_LAYERS |= {"model.8": "conv_hr", "model.10": "conv_last"}
_BSRGAN_LAYERS = {"conv_first": "conv_first", "trunk_conv": "conv_body", "upconv1": "conv_up1"}
_BSRGAN_LAYERS |= {"upconv2": "conv_up2", "HRconv": "conv_hr", "conv_last": "conv_last"}


def is_old_rrdbnet(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """True for an RRDBNet state dict in the original ESRGAN or the BSRGAN layout."""
    return "model.1.sub.0.RDB1.conv1.0.weight" in state_dict or "RRDB_trunk.0.RDB1.conv1.weight" in state_dict


def to_basicsr_layout(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The same tensors under BasicSR's keys; ``ValueError`` for a layout that is not ×4 or has
    keys no RRDBNet has."""
    original = "model.1.sub.0.RDB1.conv1.0.weight" in state_dict
    block, layers = (_ESRGAN_BLOCK, dict(_ESRGAN_LAYERS)) if original else (_BSRGAN_BLOCK, _BSRGAN_LAYERS)
    if original:
        num_block = 1 + max(int(m.group(1)) for key in state_dict if (m := block.fullmatch(key)))
        layers[f"model.1.sub.{num_block}"] = "conv_body"
        upsamplers = sum(f"model.{3 * stage}.weight" in state_dict for stage in range(1, 5))
    else:
        upsamplers = sum(f"upconv{stage}.weight" in state_dict for stage in range(1, 5))
    if upsamplers != 2:
        raise ValueError(f"an RRDBNet for ×{2**upsamplers}: only the ×4 layout (two upsampling stages) loads")
    renamed = {}
    for key, tensor in state_dict.items():
        if match := block.fullmatch(key):
            index, rdb, conv, kind = match.groups()
            renamed[f"body.{index}.rdb{rdb}.conv{conv}.{kind}"] = tensor
            continue
        layer, _, kind = key.rpartition(".")
        if layer not in layers:
            raise ValueError(f"unexpected key {key!r} for an RRDBNet")
        renamed[f"{layers[layer]}.{kind}"] = tensor
    return renamed
