"""Other decodings of a colorization network's bin scores, on the trade between colour and PSNR.

    python benchmarks/quality/colorize_decodings.py weights/colorunet.safetensors \
        --out benchmarks/results/colorize-decodings.json

Two families beside the model's own annealed mean × saturation ``S`` (``gate 0``):

* confidence-gated saturation: the chroma at each quarter-resolution pixel scaled by ``S · c^p``, with ``c`` the
  network's confidence there (1 − the entropy of its bin distribution at temperature 1 over ``log K``); it puts
  colour where the network is sure and keeps gray where it is not, which pays if its sure colours are the right
  ones;
* flip-averaged: the bin probabilities averaged over the gray and its mirror image before the annealed mean.

For each decoding and saturation on each set: the mean PSNR (RGB, 8-bit, the estimate clamped and rounded; PD's
gray projection left out, as in ``srcli train colorize``'s calibration) over the gray copy's, with its standard
error image by image, and the colourfulness of the outputs over the originals' (ratio of the means). Read at
equal colourfulness: a family is better if it keeps more PSNR there. Set14 is the calibration set; BSD68 and Set5
are shown, not chosen on.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from srcli.archs.colornet import DOWN, rgb_from
from srcli.checkpoints.load import load_network
from srcli.maths.metrics import colourfulness, psnr
from srcli.maths.operators import pad_to_multiple
from srcli.train.colorize import colour_originals, mean_gray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import bench_files, emit, machine, paired

SATURATIONS = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0)
GATES = (0.0, 0.5, 1.0, 2.0)


def bin_probabilities(net: torch.nn.Module, gray: torch.Tensor, temperature: float, flip: bool) -> torch.Tensor:
    """``(1, K, h, w)`` softmax of the scores at ``temperature``, averaged with the mirror image's if ``flip``."""
    padded = pad_to_multiple(gray, net.input_multiple)
    probabilities = torch.softmax(net.logits(padded) / temperature, 1)
    if flip:
        mirrored = torch.softmax(net.logits(padded.flip(-1)) / temperature, 1).flip(-1)
        probabilities = (probabilities + mirrored) / 2
    return probabilities


def confidence(probabilities: torch.Tensor) -> torch.Tensor:
    """``(1, 1, h, w)``: 1 − entropy / log K of ``(1, K, h, w)`` probabilities."""
    entropy = -(probabilities * probabilities.clamp_min(1e-12).log()).sum(1, keepdim=True)
    return 1 - entropy / math.log(probabilities.shape[1])


def measure(net: torch.nn.Module, files: list[Path]) -> dict[str, dict[str, object]]:
    images = colour_originals(files)
    grays = [mean_gray(rgb) for rgb in images]
    gray_psnr = [psnr(g.expand(-1, 3, -1, -1) * 255, rgb, 255.0) for g, rgb in zip(grays, images, strict=True)]
    originals = sum(colourfulness(rgb[0]) for rgb in images)
    temperature = float(net.temperature)
    rows: dict[str, dict[str, object]] = {}
    with torch.inference_mode():
        plain = [bin_probabilities(net, g, 1.0, False) for g in grays]
        annealed = {flip: [bin_probabilities(net, g, temperature, flip) for g in grays] for flip in (False, True)}
        for family, flip, gates in (("gate", False, GATES), ("flip", True, (0.0,))):
            for gate in gates:
                for saturation in SATURATIONS:
                    gains, colours = [], []
                    for index, (gray, rgb) in enumerate(zip(grays, images, strict=True)):
                        scale = saturation * confidence(plain[index]).pow(gate)
                        coarse = torch.einsum("nkhw,kc->nchw", annealed[flip][index], net.bins) * scale
                        chroma = F.interpolate(coarse, scale_factor=DOWN, mode="bilinear", align_corners=False)
                        chroma = chroma[..., : gray.shape[-2], : gray.shape[-1]]
                        out = (rgb_from(gray, chroma).clamp(0, 1) * 255).round()
                        gains.append(psnr(out, rgb, 255.0) - gray_psnr[index])
                        colours.append(colourfulness(out[0]))
                    rows[f"{family} p={gate} S={saturation}"] = {
                        "gain_db": paired(gains),
                        "colourfulness_ratio": round(sum(colours) / originals, 4),
                    }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--sets", nargs="+", default=["Set14", "Set5", "BSD68"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    net, _ = load_network(args.checkpoint)
    results: dict[str, object] = {"machine": machine(), "checkpoint": str(args.checkpoint), "sets": {}}
    for name in args.sets:
        results["sets"][name] = measure(net, bench_files(name))  # type: ignore[index]
    emit(results, args.out)


if __name__ == "__main__":
    main()
