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
FOREIGN_SHRINK = torch.tensor(
    (
        (
            (0.05, 0.14, 0.18, 0.31, 0.46, 0.72, 0.74, 0.74),
            (0.14, 0.20, 0.27, 0.38, 0.58, 0.93, 0.88, 0.71),
            (0.20, 0.24, 0.32, 0.46, 0.79, 0.89, 0.89, 0.73),
            (0.26, 0.35, 0.46, 0.63, 0.88, 0.94, 0.76, 0.65),
            (0.35, 0.48, 0.70, 0.92, 0.90, 0.82, 0.82, 0.49),
            (0.45, 0.65, 0.87, 0.86, 0.85, 0.66, 0.67, 0.55),
            (0.65, 0.84, 0.85, 0.77, 0.70, 0.57, 0.50, 0.45),
            (0.64, 0.78, 0.79, 0.66, 0.51, 0.39, 0.49, 0.24),
        ),
        (
            (0.12, 0.59, 0.85, 1.00, 1.00, 1.00, 1.00, 1.00),
            (0.67, 0.83, 0.97, 1.00, 1.00, 0.94, 1.00, 1.00),
            (0.86, 0.98, 1.00, 0.97, 1.00, 0.96, 1.00, 0.93),
            (0.99, 1.00, 1.00, 1.00, 1.00, 1.00, 0.94, 0.97),
            (1.00, 1.00, 0.99, 0.94, 0.91, 1.00, 0.79, 1.00),
            (0.95, 0.91, 1.00, 0.83, 0.94, 0.98, 0.87, 0.76),
            (0.84, 0.89, 0.86, 0.86, 0.96, 0.95, 0.84, 0.80),
            (0.81, 0.73, 0.86, 0.83, 0.92, 0.80, 0.85, 0.76),
        ),
    ),
    dtype=torch.float64,
)
"""How far ``project`` leaves each coefficient of the smoothly projected LR from its bin's centre
(:func:`srcli.maths.jpeg.shrink_to_centres`), luma and chroma per frequency (natural order): the least-squares
``λ = Σ(t − c)(p − c) / Σ(p − c)²`` (``t`` the true LR's coefficient, ``p`` the projected estimate's, ``c`` the bin
centre), clipped to [0, 1], fitted on Real-ESRGAN x4plus at quality 40 (4:2:0) on 23 images that are not in the
benchmark (BSD68's 21st to 40th sorted, Set14's baboon, barbara, bridge). x4plus drifts in tone (its box means
sit 1 to 8 levels off the JPEG's), so the DC keeps 5 % of its estimate. On those images, fitted on one half and
scored on the other, PSNR-Y +0.059 ± 0.005 dB over the projection alone at q40, +0.026 ± 0.004 at q75 (this
q40 table); smoothing again after the shrink lost 0.03 dB, shrinking the estimate before the projection 0.06."""
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
    shrink: torch.Tensor | None = FOREIGN_SHRINK,
) -> dict[str, Any]:
    """Project the upscale at ``sr_path`` onto the consistent set of ``input_path``, write it to ``output`` and return
    the saved file's record.

    The upscale is cropped to ``scale``·input (the scale inferred from the sizes); ``correction`` is the right
    inverse that spreads the change (``smooth`` suits other tools' networks, which were not trained through PD);
    ``smoothness`` how a JPEG input's LR is moved into its bins, ``shrink`` how far it is then left from their
    centres (:data:`FOREIGN_SHRINK`; None: where the smooth projection put it).
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
        target, _ = consistent_lr(jpeg, box_float(estimate[0], scale), smoothness, shrink)
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
