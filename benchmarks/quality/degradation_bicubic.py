"""SR of Pillow-bicubic LR: the shipped box-trained model as it runs today (box PD) against the same
model projected under the bicubic degradation (``upscale --degradation bicubic``), image by image; with
``--trained``, a model trained on bicubic LR under the same projection beside them.

    python benchmarks/quality/degradation_bicubic.py --scale 4 --out benchmarks/results/degradation-bicubic-x4.jsonl
    python benchmarks/quality/degradation_bicubic.py --scale 4 --trained runs/bicubic-x4.safetensors \
        --out benchmarks/results/degradation-bicubic-x4-trained.jsonl

Protocol: HR cropped to a multiple of the scale, LR by Pillow's ``resize(..., BICUBIC)`` (the published
tables' bicubic LR, as Pillow makes it), PSNR-Y with ``scale`` border pixels cropped. Per image: PSNR-Y of
the bare network, of box PD (what ``srcli upscale`` gives without ``--degradation``), of bicubic PD after
the integer round trip, and how many LR values Pillow's resize of the saved file gets wrong. A summary line
per set gives the means and the paired difference (bicubic PD − box PD) with its standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srcli.checkpoints.resolve import resolve
from srcli.maths.degradations import Resize
from srcli.maths.metrics import psnr_y
from srcli.maths.operators import AvgPool
from srcli.maths.round_trip import RoundedResize, round_trip
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import network_estimate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import bench_files, paired


def _tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image.convert("RGB")).copy()).permute(2, 0, 1)


def bicubic_pd(model, y: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor, int, float, float]:
    """The model's float estimate of the Pillow-bicubic LR ``y`` (``(3, h, w)`` int64, level units), its
    bicubic projection rounded by the integer round trip, how many LR values Pillow's resize of that misses,
    and the network's and the projection's seconds."""
    height, width = y.shape[1] * scale, y.shape[2] * scale
    started = time.perf_counter()
    z = network_estimate(model, y.unsqueeze(0).float() / 255, RunOptions())[0].to(torch.float64) * 255
    network_seconds = time.perf_counter() - started
    operator = Resize.of("bicubic", scale, height, width)
    started = time.perf_counter()
    projected = operator.project(z.unsqueeze(0), y.to(torch.float64).unsqueeze(0))[0]
    exact, _ = round_trip(projected, y, RoundedResize(operator, 255, pillow=True))
    projection_seconds = time.perf_counter() - started
    saved = Image.fromarray(exact.permute(1, 2, 0).numpy().astype(np.uint8))
    again = _tensor(saved.resize((width // scale, height // scale), Image.Resampling.BICUBIC)).to(torch.int64)
    return z, exact, int((again != y).sum()), network_seconds, projection_seconds


def score(path: Path, model, scale: int, trained=None) -> dict[str, object]:
    """One image's record: the box model (``model``) under box and bicubic PD, and with ``trained`` (a model
    trained on bicubic LR) that model under bicubic PD too."""
    with Image.open(path) as opened:
        hr = opened.convert("RGB")
    width, height = hr.width // scale * scale, hr.height // scale * scale
    hr = hr.crop((0, 0, width, height))
    y = _tensor(hr.resize((width // scale, height // scale), Image.Resampling.BICUBIC)).to(torch.int64)
    truth = _tensor(hr).unsqueeze(0).to(torch.float64) / 255

    def psnr(x: torch.Tensor) -> float:
        return round(psnr_y(x.to(torch.float64).unsqueeze(0) / 255, truth, scale), 4)

    z, exact, off, network_seconds, projection_seconds = bicubic_pd(model, y, scale)
    box = AvgPool(scale).quantize(z.unsqueeze(0), y.unsqueeze(0), 255)[0]
    row: dict[str, object] = {
        "image": path.name,
        "bare_psnr_y": psnr(z.clamp(0, 255).round()),
        "box_pd_psnr_y": psnr(box),
        "bicubic_pd_psnr_y": psnr(exact),
        "lr_values": y.numel(),
        "lr_values_off": off,
        "network_seconds": round(network_seconds, 3),
        "projection_seconds": round(projection_seconds, 3),
    }
    if trained is not None:
        z, exact, off, _, _ = bicubic_pd(trained, y, scale)
        row |= {"trained_bare_psnr_y": psnr(z.clamp(0, 255).round()), "trained_bicubic_pd_psnr_y": psnr(exact),
                "trained_lr_values_off": off}  # fmt: skip
    return row


def summary(name: str, rows: list[dict[str, object]]) -> dict[str, object]:
    """Means per set and the paired gain of the bicubic projection over box PD (and of the trained model
    under bicubic PD over the box model under it)."""
    count = len(rows)

    def values(key: str) -> list[float]:
        return [float(r[key]) for r in rows]  # type: ignore[arg-type]

    def average(key: str) -> float:
        return round(sum(values(key)) / count, 3)

    def exact(key: str) -> dict[str, object]:
        off, total = sum(int(v) for v in values(key)), sum(int(v) for v in values("lr_values"))
        return {"lr_values_exact_fraction": round(1 - off / total, 6), "lr_values_off": off,
                "images_all_exact": sum(v == 0 for v in values(key))}  # fmt: skip

    gain = paired([a - b for a, b in zip(values("bicubic_pd_psnr_y"), values("box_pd_psnr_y"), strict=True)], 3)
    result: dict[str, object] = {
        "set": name,
        "images": count,
        "bare_psnr_y": average("bare_psnr_y"),
        "box_pd_psnr_y": average("box_pd_psnr_y"),
        "bicubic_pd_psnr_y": average("bicubic_pd_psnr_y"),
        "gain_over_box_pd_db": gain["mean"],
        "gain_standard_error_db": gain["standard_error"],
        **exact("lr_values_off"),
    }
    if "trained_bicubic_pd_psnr_y" in rows[0]:
        trained = values("trained_bicubic_pd_psnr_y")
        gain = paired([a - b for a, b in zip(trained, values("bicubic_pd_psnr_y"), strict=True)], 3)
        result["trained"] = {
            "bare_psnr_y": average("trained_bare_psnr_y"),
            "bicubic_pd_psnr_y": average("trained_bicubic_pd_psnr_y"),
            "gain_over_box_model_db": gain["mean"],
            "gain_standard_error_db": gain["standard_error"],
            **exact("trained_lr_values_off"),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--sets", nargs="+", default=["Set5", "BSD68"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--trained", help="a model trained on bicubic LR (train sr --degradation bicubic) to add")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, _ = resolve(f"compact-x{args.scale}", "sr")
    trained = resolve(args.trained, "sr")[0] if args.trained else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as handle:
        for name in args.sets:
            rows = [score(path, model, args.scale, trained) for path in bench_files(name)]
            for row in rows:
                handle.write(json.dumps({"set": name, "scale": args.scale, **row}) + "\n")
            handle.write(json.dumps({"summary": summary(name, rows), "scale": args.scale}) + "\n")
            handle.flush()
            print(json.dumps(summary(name, rows)))


if __name__ == "__main__":
    main()
