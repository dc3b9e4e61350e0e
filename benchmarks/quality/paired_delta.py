"""Two SR checkpoints of one scale compared image by image: the mean PSNR-Y difference per set
and its standard error, to tell a real gain from the spread of a few images.

    python benchmarks/quality/paired_delta.py NEW OLD --out benchmarks/results/paired-NAME.json

Both run inside PD with rounded 8-bit output (the validation of ``srcli train``) under the
protocol of ``shared/README.md`` on Set5, Set14 and BSD68. The standard error is the spread of
the per-image differences over the square root of the image count: a mean difference within
about two of them is not shown to be a gain.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from srcli.checkpoints.load import load_network
from srcli.io.testsets import Upscaler, evaluate_sr
from srcli.maths.operators import AvgPool, PDWrapper
from srcli.train.sr import rounded_upscaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import bench_files, paired

SETS = ("Set5", "Set14", "BSD68")


def rounded_model(weights: Path) -> tuple[int, Upscaler]:
    """The checkpoint's scale, and the checkpoint inside PD with rounded 8-bit output."""
    net, _ = load_network(weights)
    return net.scale, rounded_upscaler(PDWrapper(net.eval(), AvgPool(net.scale)))


def per_image(model: Upscaler, files: list[Path], scale: int) -> list[float]:
    """PSNR-Y of the model on each file."""
    return [score.psnr_y for score in evaluate_sr(model, files, scale, with_ssim=False)]


def delta(new: list[float], old: list[float]) -> dict[str, float | None]:
    """Mean of ``new − old`` and its standard error (:func:`harness.paired`), under this record's keys."""
    result = paired([a - b for a, b in zip(new, old, strict=True)])
    return {"mean_delta_db": result["mean"], "standard_error_db": result["standard_error"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path)
    parser.add_argument("old", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    (new_scale, new), (old_scale, old) = rounded_model(args.new), rounded_model(args.old)
    if new_scale != old_scale:
        parser.error(f"{args.new} is x{new_scale} and {args.old} x{old_scale}")
    record: dict[str, object] = {"new": str(args.new), "old": str(args.old)}
    for name in SETS:
        files = bench_files(name)
        record[name] = {
            "images": len(files),
            **delta(per_image(new, files, new_scale), per_image(old, files, new_scale)),
        }
    record["date"] = time.strftime("%Y-%m-%d")
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
