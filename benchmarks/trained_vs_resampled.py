"""A model trained for a scale beside what ``srcli upscale`` runs without it: a larger model, resampled.

    python benchmarks/trained_vs_resampled.py --trained weights/compact-x3.safetensors --scale 3 \
        --resampled compact-x4 --out benchmarks/results/trained-vs-resampled-x3.json

Protocol of ``shared/README.md`` at the scale (box LR by ``Image.reduce``, PSNR-Y with ``scale`` border
pixels cropped), on Set5, Set14 and BSD68. Per image: PSNR-Y of bicubic, of the trained model and of the
resampled one (bicubic resampling, exact PD at the scale); per set: means, paired differences with
standard errors, byte-exact outputs.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from resampled_scales import paired

from srcli.checkpoints.resolve import sr_plan
from srcli.io.images import Picture
from srcli.io.testsets import image_files, protocol_pair
from srcli.maths.metrics import psnr_y
from srcli.tasks.bench import bicubic_upscale
from srcli.tasks.check import box_consistency
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_chain

BENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trained", required=True, help="the model of --scale (name or path)")
    parser.add_argument("--scale", type=int, required=True)
    parser.add_argument("--resampled", required=True, help="a model of a larger scale (name or path)")
    parser.add_argument("--sets", nargs="+", default=["Set5", "Set14", "BSD68"])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    plans = {"trained": sr_plan(args.trained, args.scale), "resampled": sr_plan(args.resampled, args.scale)}
    record: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, 1 thread",
        "scale": args.scale,
        "runs": {key: plan.describe() for key, plan in plans.items()},
        "results": [],
    }
    for name in args.sets:
        rows = []
        for path in image_files(BENCH / name):
            hr, lr = protocol_pair(path, args.scale)
            truth = hr.to(torch.float64) / 255
            row: dict[str, object] = {"image": path.name}
            row["bicubic"] = psnr_y(bicubic_upscale(lr, args.scale).to(torch.float64) / 255, truth, args.scale)
            for key, plan in plans.items():
                picture, _ = upscale_chain(Picture(lr[0], None, 8), plan.stages, RunOptions(), args.scale)
                row[key] = psnr_y(picture.color.unsqueeze(0).to(torch.float64) / 255, truth, args.scale)
                verdict = box_consistency(picture.color, lr[0], args.scale, 255)
                row[f"{key}_exact"] = bool(verdict.exact and verdict.psnr_db == float("inf"))
            rows.append(row)
        means = {key: round(sum(float(r[key]) for r in rows) / len(rows), 3) for key in ("bicubic", *plans)}  # type: ignore[arg-type]
        result = {
            "set": name,
            "images": len(rows),
            **means,
            "trained_minus_resampled": paired([float(r["trained"]) - float(r["resampled"]) for r in rows]),  # type: ignore[arg-type]
            "trained_minus_bicubic": paired([float(r["trained"]) - float(r["bicubic"]) for r in rows]),  # type: ignore[arg-type]
            "exact": {key: f"{sum(bool(r[f'{key}_exact']) for r in rows)}/{len(rows)}" for key in plans},
            "images_rows": rows,
        }
        record["results"].append(result)  # type: ignore[union-attr]
        print(json.dumps({k: v for k, v in result.items() if k != "images_rows"}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
