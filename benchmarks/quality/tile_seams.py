"""How far a tiled upscale is from the untiled one, for a model whose receptive radius exceeds the
tile overlap: PSNR (RGB, peak 255) of tiled against untiled output, largest difference and share of
pixels changed, per overlap, with and without the feathered blend.

    python benchmarks/quality/tile_seams.py MODEL --set BSD68 --limit 8 --tile 64 --overlaps 16 32 \\
        --out benchmarks/results/tile-seams-NAME.json [--threads 1]

Both runs go through srcli's engine with the model's own correction; the untiled one is the reference.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

from srcli.checkpoints.resolve import sr_plan
from srcli.io.images import Picture
from srcli.io.testsets import protocol_pair
from srcli.maths.metrics import psnr
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import needed_overlap, stage_correction, upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import bench_files


def label(overlap: int, feather: int | None) -> str:
    return f"overlap {overlap}, feather {'auto' if feather is None else feather}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--set", default="BSD68")
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--tile", type=int, default=64)
    parser.add_argument("--overlaps", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    (model,) = sr_plan(args.model, None).stages
    files = bench_files(args.set, args.limit)
    runs = [(overlap, feather) for overlap in args.overlaps for feather in (0, None)]
    rows: dict[str, list[dict[str, float]]] = {label(o, f): [] for o, f in runs}
    started = time.perf_counter()
    for path in files:
        _, lr = protocol_pair(path, model.scale)
        picture = Picture(lr[0], None, 8)
        whole = upscale_picture(picture, model, RunOptions(tile=0)).color.to(torch.int32)
        for overlap, feather in runs:
            options = RunOptions(tile=args.tile, overlap=overlap, feather=feather)
            tiled = upscale_picture(picture, model, options).color.to(torch.int32)
            difference = (tiled - whole).abs()
            rows[label(overlap, feather)].append(
                {
                    "image": path.stem,
                    "psnr_db": round(psnr(tiled.double(), whole.double(), 255.0), 2),
                    "max_abs": int(difference.max()),
                    "changed": round(float((difference > 0).double().mean()), 4),
                }
            )
    summary = {}
    for name, values in rows.items():
        finite = [v["psnr_db"] for v in values if math.isfinite(v["psnr_db"])]
        summary[name] = {
            "min_psnr_db": min(finite) if finite else math.inf,
            "mean_psnr_db": round(sum(finite) / len(finite), 2) if finite else math.inf,
            "max_abs": max(v["max_abs"] for v in values),
            "mean_changed": round(sum(v["changed"] for v in values) / len(values), 4),
            "per_image": values,
        }
    record = {
        "model": args.model,
        **model.as_json(),
        "correction": stage_correction(model, RunOptions()),
        "receptive_radius": model.receptive_radius,
        "needed_overlap": needed_overlap(model, RunOptions()),
        "set": args.set,
        "images": len(files),
        "tile": args.tile,
        "runs": summary,
        "seconds": round(time.perf_counter() - started, 1),
        "threads": args.threads,
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({name: {k: v for k, v in s.items() if k != "per_image"} for name, s in summary.items()}))


if __name__ == "__main__":
    main()
