"""A teacher for ``srcli train sr --teacher``: trained SR weights, run as a PD-projected
geometric self-ensemble, whose output replaces the HR patch as the training target.

The self-ensemble of a net scores higher than the net (about 0.1–0.2 dB PSNR) because its 8
estimates err partly independently; a student trained on its output (distillation) can keep
part of that gain in a single pass. The target is consistent with the LR, as the student's
projected output is, so the loss is on the null space alone. The teacher runs once, on whole
training images, before the first step (:func:`with_targets`): each patch's target then comes
from the whole image around it, and a step costs no teacher pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from srcli.archs import describe
from srcli.checkpoints.load import load_network
from srcli.errors import TrainError
from srcli.maths.box import box_rounded
from srcli.maths.ensemble import SelfEnsemble
from srcli.maths.operators import AvgPool, PDWrapper


class TeacherError(TrainError):
    """The teacher weights cannot teach this run."""


def load_teacher(path: Path, scale: int) -> nn.Module:
    """``(N, 3, h, w)`` LR in [0, 1] → ``(N, 3, s·h, s·w)`` PD-projected self-ensemble estimate
    of the SR weights at ``path`` (eval mode, channels-last); refused unless it is ×``scale``."""
    net, _ = load_network(path)
    model = describe(net)
    if model.task != "sr" or model.scale != scale:
        raise TeacherError(f"--teacher {path} is not a x{scale} SR network")
    net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return PDWrapper(SelfEnsemble(net), AvgPool(scale)).eval()


def with_targets(
    teacher: nn.Module, images: list[torch.Tensor], scale: int, report: Callable[[dict[str, str]], None]
) -> list[torch.Tensor]:
    """Each ``(3, H, W)`` uint8 training image cropped to multiples of ``scale``, with the
    teacher's estimate from its 8-bit box LR stacked under it: ``(6, H', W')`` float in [0, 255].

    A patch cut from one on the ``scale`` grid has a target consistent with the patch's own box
    LR. Progress goes to ``report`` every 50 images (a 64×12 ×2 teacher takes ~1.7 s for a
    481×321 photo on 2 cores; on patches it took 1.6 of each step's 2.7 s).
    """
    paired = []
    started = time.monotonic()
    for index, image in enumerate(images, start=1):
        height, width = (side - side % scale for side in image.shape[1:])
        hr = image[:, :height, :width]
        lr = (box_rounded(hr, scale).float() / 255).unsqueeze(0).contiguous(memory_format=torch.channels_last)
        with torch.no_grad():  # not inference_mode: crops of the target are kept for backward passes
            target = teacher(lr).squeeze(0) * 255
        paired.append(torch.cat([hr.float(), target]))
        if index % 50 == 0 or index == len(images):
            report({"teacher_targets": f"{index}/{len(images)}", "seconds": f"{time.monotonic() - started:.0f}"})
    return paired
