"""Measure a trained CS checkpoint on Set5 and BSD68 and record it in weights/manifest.json.

    python benchmarks/quality/register_cs.py weights/cs-0.25.safetensors --name cs-0.25 --default

Each image is sampled (``srcli cs sample``'s code: 32×32 blocks, the model's ratio and seed),
reconstructed through the model and PD, and saved as 8-bit PNG; PSNR is on RGB against the
original, 8-bit, no border. Beside it: ``Aᵀy`` and the model's linear stage alone (both
consistent with the measurements, clamped and rounded the same way), the measurement-consistency
PSNR of the float result and of the saved PNG (lowest over the set). Speed is measured by
speed/throughput.py, on an idle machine.
Writes the manifest entry and benchmarks/results/quality-NAME.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
from entries import model_entry, write_entry

from srcli.checkpoints.load import load_network
from srcli.io.images import decode_picture, read_picture
from srcli.io.testsets import image_files
from srcli.maths.metrics import psnr
from srcli.tasks.cs import encode_reconstruction, measurement_psnr, reconstruct, sample_picture
from srcli.tasks.run import RunOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, ROOT

SETS = ("Set5", "BSD68")


def rounded_psnr(estimate: torch.Tensor, original: torch.Tensor, height: int, width: int) -> float:
    """PSNR (peak 255) of a float estimate in [0, 1], cropped, clamped and rounded to 8 bits."""
    levels = (estimate[:, :height, :width].clamp(0, 1) * 255).round()
    return psnr(levels, original.to(torch.float64), 255.0)


def bench_set(folder: Path, net: torch.nn.Module, ratio: float, seed: int) -> dict[str, float]:
    rows = []
    for path in image_files(folder):
        picture = read_picture(path)
        values, info = sample_picture(picture, ratio, seed)
        operator = info.operator()
        estimate = reconstruct(values, info, net, RunOptions())
        data = encode_reconstruction(estimate, info, ".png")
        saved = decode_picture(data, path.name).color.to(torch.float64)
        with torch.inference_mode():
            linear = net.initial_estimate(values.unsqueeze(0))[0].to(torch.float64)
        adjoint = operator.A_pinv(values.unsqueeze(0).to(torch.float64))[0]
        padded_saved = estimate.clone()
        padded_saved[:, : info.height, : info.width] = saved / 255
        rows.append(
            {
                "psnr": psnr(saved, picture.color.to(torch.float64), 255.0),
                "linear_psnr": rounded_psnr(linear, picture.color, info.height, info.width),
                "adjoint_psnr": rounded_psnr(adjoint, picture.color, info.height, info.width),
                "float_consistency_db": measurement_psnr(estimate, values, operator),
                "saved_consistency_db": measurement_psnr(padded_saved, values, operator),
            }
        )
    mean = {key: round(sum(r[key] for r in rows) / len(rows), 3) for key in ("psnr", "linear_psnr", "adjoint_psnr")}
    return mean | {
        "images": len(rows),
        "min_float_consistency_db": round(min(r["float_consistency_db"] for r in rows), 1),
        "min_saved_consistency_db": round(min(r["saved_consistency_db"] for r in rows), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--default", action="store_true", help="the default model for its ratio")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    net, header = load_network(args.weights)
    ratio, seed = float(header["ratio"]), int(header["sensing_seed"])
    results = {name: bench_set(BENCH / name, net, ratio, seed) for name in SETS}
    entry = model_entry(
        args.name, args.weights, net, header, args.default, results, task="cs", scale=1, ratio=ratio, seed=seed
    )
    write_entry(entry, lambda m: m["task"] == "cs" and m.get("ratio") == ratio)
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {args.threads} threads",
        "model": args.name,
        "ratio": ratio,
        "results": results,
    }
    out = ROOT / "benchmarks" / "results" / f"quality-{args.name}.json"
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
