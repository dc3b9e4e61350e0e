"""SR of Pillow-bicubic LR: the shipped box-trained model as it runs today (box PD) against the same
model projected under the bicubic degradation (``upscale --degradation bicubic``), image by image.

    python benchmarks/degradation_bicubic.py --scale 4 --out benchmarks/results/degradation-bicubic-x4.jsonl

Protocol: HR cropped to a multiple of the scale, LR by Pillow's ``resize(..., BICUBIC)`` (the published
tables' bicubic LR, as Pillow makes it), PSNR-Y with ``scale`` border pixels cropped. Per image: PSNR-Y of
the bare network, of box PD (what ``srcli upscale`` gives without ``--degradation``), of bicubic PD after
the integer round trip, and how many LR values Pillow's resize of the saved file gets wrong. A summary line
per set gives the means and the paired difference (bicubic PD − box PD) with its standard error.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srcli.degradation import Resize, RoundedResize, round_trip
from srcli.evaluate import image_files
from srcli.metrics import psnr_y
from srcli.models import resolve
from srcli.ops import AvgPool
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import network_estimate

BENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "bench"


def _tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image.convert("RGB")).copy()).permute(2, 0, 1)


def score(path: Path, model, scale: int) -> dict[str, object]:
    """One image's record."""
    with Image.open(path) as opened:
        hr = opened.convert("RGB")
    width, height = hr.width // scale * scale, hr.height // scale * scale
    hr = hr.crop((0, 0, width, height))
    y = _tensor(hr.resize((width // scale, height // scale), Image.Resampling.BICUBIC)).to(torch.int64)
    truth = _tensor(hr).unsqueeze(0).to(torch.float64) / 255
    started = time.perf_counter()
    z = network_estimate(model, y.unsqueeze(0).float() / 255, RunOptions())[0].to(torch.float64) * 255
    network_seconds = time.perf_counter() - started
    box = AvgPool(scale).quantize(z.unsqueeze(0), y.unsqueeze(0), 255)[0]
    operator = Resize.of("bicubic", scale, height, width)
    started = time.perf_counter()
    projected = operator.project(z.unsqueeze(0), y.to(torch.float64).unsqueeze(0))[0]
    exact, _ = round_trip(projected, y, RoundedResize(operator, 255, pillow=True))
    projection_seconds = time.perf_counter() - started
    saved = Image.fromarray(exact.permute(1, 2, 0).numpy().astype(np.uint8))
    again = _tensor(saved.resize((width // scale, height // scale), Image.Resampling.BICUBIC)).to(torch.int64)

    def psnr(x: torch.Tensor) -> float:
        return round(psnr_y(x.to(torch.float64).unsqueeze(0) / 255, truth, scale), 4)

    return {
        "image": path.name,
        "bare_psnr_y": psnr(z.clamp(0, 255).round()),
        "box_pd_psnr_y": psnr(box),
        "bicubic_pd_psnr_y": psnr(exact),
        "lr_values": y.numel(),
        "lr_values_off": int((again != y).sum()),
        "network_seconds": round(network_seconds, 3),
        "projection_seconds": round(projection_seconds, 3),
    }


def summary(name: str, rows: list[dict[str, object]]) -> dict[str, object]:
    """Means per set and the paired gain of the bicubic projection over box PD."""
    count = len(rows)
    gains = [float(r["bicubic_pd_psnr_y"]) - float(r["box_pd_psnr_y"]) for r in rows]  # type: ignore[arg-type]
    mean = sum(gains) / count
    spread = math.sqrt(sum((g - mean) ** 2 for g in gains) / (count - 1)) if count > 1 else float("nan")

    def average(key: str) -> float:
        return round(sum(float(r[key]) for r in rows) / count, 3)  # type: ignore[arg-type]

    off, values = sum(int(r["lr_values_off"]) for r in rows), sum(int(r["lr_values"]) for r in rows)  # type: ignore[call-overload]
    return {
        "set": name,
        "images": count,
        "bare_psnr_y": average("bare_psnr_y"),
        "box_pd_psnr_y": average("box_pd_psnr_y"),
        "bicubic_pd_psnr_y": average("bicubic_pd_psnr_y"),
        "gain_over_box_pd_db": round(mean, 3),
        "gain_standard_error_db": round(spread / math.sqrt(count), 3),
        "lr_values_exact_fraction": round(1 - off / values, 6),
        "lr_values_off": off,
        "images_all_exact": sum(int(r["lr_values_off"]) == 0 for r in rows),  # type: ignore[call-overload]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--sets", nargs="+", default=["Set5", "BSD68"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, _ = resolve(f"compact-x{args.scale}", "sr")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as handle:
        for name in args.sets:
            rows = [score(path, model, args.scale) for path in image_files(BENCH / name)]
            for row in rows:
                handle.write(json.dumps({"set": name, "scale": args.scale, **row}) + "\n")
            handle.write(json.dumps({"summary": summary(name, rows), "scale": args.scale}) + "\n")
            handle.flush()
            print(json.dumps(summary(name, rows)))


if __name__ == "__main__":
    main()
