"""``srcli project``: make any tool's upscale consistent with its input, without running a network.

The upscale is the estimate; PD moves it onto the input's consistent set and the exact quantisation makes the
saved file hold it: for a JPEG input (``auto``), onto the file's quantization bins (:mod:`srcli.tasks.jpeg_input`);
otherwise (or with ``box``) onto the input's pixels, so the upscale's box downsample equals them byte for byte.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from srcli.errors import ImageError, OptionError
from srcli.io.images import read_picture, write_picture
from srcli.maths.box import box_float
from srcli.maths.jpeg import Smoothness
from srcli.maths.metrics import psnr_from_mse
from srcli.maths.operators import CORRECTIONS, AvgPool
from srcli.tasks.check import box_consistency, comparable_channels, infer_scale
from srcli.tasks.jpeg_input import agreement_json, consistent_lr, file_agreement, jpeg_input

FOREIGN_SMOOTHNESS = Smoothness(border=0.3, inside=0.1)
"""How ``project`` moves another tool's LR into a JPEG file's bins (:func:`srcli.maths.jpeg.smooth_to_bins`): towards
a smooth image, not the nearest one, since a network not trained through the bins puts invented detail where they
leave room. Real-ESRGAN x4plus on 12 BSD68 images (``benchmarks/jpeg/peer_x4plus.py``'s data), PSNR-Y over the
Euclidean projection: +0.128 ± 0.028 dB at quality 40, +0.096 ± 0.029 at 75, 32-px grid ratio 1.13 → 1.01; border
weight 0.1 alone +0.025, a smooth change (‖∇change‖² + 0.05‖change‖²) +0.010, heavier weights (border 1, inside 0.5)
+0.055."""
PROJECTIONS = ("auto", "box")
"""What ``project`` projects onto: ``auto`` (the JPEG file's bins for a JPEG input, else the pixels) or ``box``."""


def _moved_db(before: torch.Tensor, after: torch.Tensor, max_value: int) -> float | None:
    """PSNR of the projected upscale against the one given (how far PD moved it), in dB; None when unmoved."""
    psnr = psnr_from_mse((before.to(torch.float64) - after.to(torch.float64)).square().mean().item(), max_value)
    return None if math.isinf(psnr) else round(psnr, 3)


def project_file(
    sr_path: Path,
    input_path: Path,
    output: Path,
    onto: str = "auto",
    correction: str = "smooth",
    overwrite: bool = False,
    smoothness: Smoothness = FOREIGN_SMOOTHNESS,
) -> dict[str, Any]:
    """Project the upscale at ``sr_path`` onto the consistent set of ``input_path``, write it to ``output`` and return
    the saved file's record.

    The upscale is cropped to ``scale``·input (the scale inferred from the sizes); ``correction`` is the right
    inverse that spreads the change (``smooth`` suits other tools' networks, which were not trained through PD);
    ``smoothness`` how a JPEG input's LR is moved into its bins.
    """
    if onto not in PROJECTIONS:
        raise OptionError(f"projection must be one of {', '.join(PROJECTIONS)}, got {onto!r}")
    if correction not in CORRECTIONS:
        raise OptionError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    if output.exists() and not overwrite:
        raise ImageError(f"{output}: exists (pass --overwrite to replace it)")
    sr, lr = read_picture(sr_path), read_picture(input_path)
    scale = infer_scale((sr.width, sr.height), (lr.width, lr.height))
    sr_channels, lr_channels = comparable_channels(sr, lr)
    estimate = sr_channels[:, : lr.height * scale, : lr.width * scale].unsqueeze(0).to(torch.float32)
    operator = AvgPool(scale, correction)
    jpeg = jpeg_input(lr) if onto == "auto" else None
    if jpeg is not None:
        target, _ = consistent_lr(jpeg, box_float(estimate[0], scale), smoothness)
    else:
        target = lr_channels
    out = operator.quantize(estimate, target.unsqueeze(0), lr.max_value)[0].to(sr_channels.dtype)
    saved = sr.with_channels(out)
    write_picture(saved, output, overwrite)
    verdict = box_consistency(out, lr_channels, scale, lr.max_value)
    consistency = agreement_json(file_agreement(jpeg, out, scale)) if jpeg is not None else {"consistency": "box"}
    return {
        "sr": str(sr_path),
        "input": str(input_path),
        "output": str(output),
        "scale": scale,
        "correction": correction,
        "input_size": [lr.width, lr.height],
        "output_size": [saved.width, saved.height],
        "cropped": [sr.width, sr.height] != [saved.width, saved.height],
        "moved_psnr_db": _moved_db(estimate[0], out, lr.max_value),
        **verdict.as_json(),
        **consistency,
    }
