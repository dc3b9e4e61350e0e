"""The scales no shipped model has (×3, ×5, ×6, ×7 while ×2, ×4, ×8 ship): what ``srcli upscale --scale S``
runs for them, the next larger scale's models with their estimate resampled, by each resampling, against
bicubic, image by image.

    python benchmarks/quality/resampled_scales.py --out benchmarks/results/resampled-scales.json

Protocol of ``shared/README.md`` at each scale (HR cropped to a multiple of S, LR by ``Image.reduce(S)``,
PSNR-Y with S border pixels cropped; bicubic is Pillow's upscale of the same LR). Per set and scale: the mean
PSNR-Y of bicubic and of each resampling, the paired differences (model − bicubic, area − bicubic
resampling) with their standard errors, and how many saved files are byte-exact.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from srcli.checkpoints.resolve import sr_plan
from srcli.io.images import Picture
from srcli.io.testsets import protocol_pair
from srcli.maths.metrics import psnr_y
from srcli.maths.resample import RESAMPLES
from srcli.tasks.bench import bicubic_upscale
from srcli.tasks.check import box_consistency
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_chain

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import bench_files, machine, paired


def paired_db(differences: list[float]) -> dict[str, float | None]:
    """The harness's paired mean and standard error, under this record's keys (dB, 3 decimals)."""
    result = paired(differences, 3)
    return {"mean_db": result["mean"], "standard_error_db": result["standard_error"]}


def score(path: Path, plan, scale: int) -> dict[str, object]:
    """One image: PSNR-Y of Pillow's bicubic upscale and of the plan with each resampling; whether each
    saved output is byte-exact."""
    hr, lr = protocol_pair(path, scale)
    truth = hr.to(torch.float64) / 255
    baseline = psnr_y(bicubic_upscale(lr, scale).to(torch.float64) / 255, truth, scale)
    row: dict[str, object] = {"image": path.name, "bicubic_upscale": round(baseline, 4)}
    for method in RESAMPLES:
        started = time.perf_counter()
        picture, _ = upscale_chain(Picture(lr[0], None, 8), plan.stages, RunOptions(resample=method), scale)
        row[f"{method}_seconds"] = round(time.perf_counter() - started, 3)
        row[f"resample_{method}"] = round(psnr_y(picture.color.unsqueeze(0).to(torch.float64) / 255, truth, scale), 4)
        verdict = box_consistency(picture.color, lr[0], scale, 255)
        row[f"{method}_exact"] = bool(verdict.exact and verdict.psnr_db == float("inf"))
    return row


def column(rows: list[dict[str, object]], key: str) -> list[float]:
    return [float(row[key]) for row in rows]  # type: ignore[arg-type]


def summary(rows: list[dict[str, object]]) -> dict[str, object]:
    """Means, paired differences with standard errors, and exact outputs of one set at one scale."""
    baseline = column(rows, "bicubic_upscale")
    result: dict[str, object] = {"images": len(rows), "bicubic_upscale": round(sum(baseline) / len(rows), 3)}
    for method in RESAMPLES:
        scores = column(rows, f"resample_{method}")
        result[f"resample_{method}"] = round(sum(scores) / len(rows), 3)
        result[f"resample_{method}_minus_bicubic_upscale"] = paired_db(
            [a - b for a, b in zip(scores, baseline, strict=True)]
        )
        result[f"resample_{method}_exact"] = f"{sum(bool(row[f'{method}_exact']) for row in rows)}/{len(rows)}"
    area, bicubic = column(rows, "resample_area"), column(rows, "resample_bicubic")
    result["area_minus_bicubic_resample"] = paired_db([a - b for a, b in zip(area, bicubic, strict=True)])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[3, 5, 6, 7])
    parser.add_argument("--sets", nargs="+", default=["Set5", "BSD68"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    record: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "threads": args.threads,
        "results": [],
    }
    for scale in args.scales:
        plan = sr_plan(None, scale)
        for name in args.sets:
            rows = [score(path, plan, scale) for path in bench_files(name)]
            result = {"scale": scale, "set": name, "runs": plan.describe(), **summary(rows), "images_rows": rows}
            record["results"].append(result)  # type: ignore[union-attr]
            print(json.dumps({k: v for k, v in result.items() if k != "images_rows"}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
