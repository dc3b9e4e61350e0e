"""A teacher for ``srcli train sr --teacher``: trained SR weights, run as a PD-projected
geometric self-ensemble, whose output replaces the HR patch as the training target.

The self-ensemble of a net scores higher than the net (about 0.1–0.2 dB PSNR) because its 8
estimates err partly independently; a student trained on its output (distillation) can keep
part of that gain in a single pass. The target is consistent with the LR, as the student's
projected output is, so the loss is on the null space alone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from srcli.ensemble import SelfEnsemble
from srcli.models import PDWrapper, load_network
from srcli.ops import AvgPool


class TeacherError(ValueError):
    """The teacher weights cannot teach this run."""


def load_teacher(path: Path, scale: int) -> nn.Module:
    """``(N, 3, h, w)`` LR in [0, 1] → ``(N, 3, s·h, s·w)`` PD-projected self-ensemble estimate
    of the SR weights at ``path`` (eval mode, channels-last); refused unless it is ×``scale``."""
    net, _ = load_network(path)
    if getattr(net, "scale", None) != scale:
        raise TeacherError(f"--teacher {path} is not a x{scale} SR network")
    net.to(memory_format=torch.channels_last)
    return PDWrapper(SelfEnsemble(net), AvgPool(scale)).eval()


def weights_digest(path: Path) -> str:
    """sha256 of a weights file: a resumed run checks that its teacher is the one it began with."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
