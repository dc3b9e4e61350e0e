"""Block grid of SR models against bicubic's, and the PSNR-Y a grid-free retrain costs, image by image.

    python benchmarks/quality/grid_free.py --scale 4 --before weights/compact-x4.safetensors \\
        --after runs/compact-x4-smooth.safetensors --sets Set5 BSD68 --out benchmarks/results/grid-free-x4.json

Each checkpoint runs untiled through srcli's own engine (:func:`srcli.tasks.sr.upscale_picture`) with the
correction it was trained through (its header), so every output is exact. Protocol of ``shared/README.md``
(box LR, PSNR on BT.601 Y with ``scale`` border pixels cropped). The grid is
:func:`srcli.maths.metrics.block_border_ratio` at the scale's block size on the whole output; bicubic is
Pillow's bicubic resize of the same LR, and the HR photo's own ratio is given for reference. Reported per set:
means, ``after − before`` PSNR-Y and ``after − bicubic`` ratio as paired means with standard errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from srcli.checkpoints.resolve import sr_plan
from srcli.io.images import Picture, pil_to_tensor, tensor_to_pil
from srcli.io.testsets import protocol_pair
from srcli.maths.metrics import block_border_ratio, psnr_y
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import bench_files, machine, paired


def bicubic(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """Pillow's bicubic upscale of a ``(3, h, w)`` uint8 LR, ``(3, s·h, s·w)`` uint8."""
    image = tensor_to_pil(lr)
    return pil_to_tensor(image.resize((image.width * scale, image.height * scale), Image.BICUBIC))


def score(models: dict, scale: int, path: Path) -> dict[str, object]:
    hr, lr = protocol_pair(path, scale)
    outputs = {"bicubic": bicubic(lr[0], scale)}
    for name, model in models.items():
        outputs[name] = upscale_picture(Picture(lr[0], None, 8), model, RunOptions(tile=0)).color
    hr_unit = hr.double() / 255
    row: dict[str, object] = {"image": path.stem, "hr_ratio": round(block_border_ratio(hr_unit, scale), 4)}
    for name, out in outputs.items():
        unit = out.unsqueeze(0).double() / 255
        row[name] = {
            "psnr_y": round(psnr_y(unit, hr_unit, scale), 4),
            "ratio": round(block_border_ratio(unit, scale), 4),
        }
    return row


def summarise(rows: list[dict]) -> dict[str, object]:
    summary: dict[str, object] = {
        "images": len(rows),
        "hr_ratio": round(sum(r["hr_ratio"] for r in rows) / len(rows), 4),
    }
    for name in ("bicubic", "before", "after"):
        summary[name] = {key: round(sum(r[name][key] for r in rows) / len(rows), 4) for key in ("psnr_y", "ratio")}
    summary["after_minus_before_psnr_y"] = paired([r["after"]["psnr_y"] - r["before"]["psnr_y"] for r in rows])
    summary["after_minus_bicubic_ratio"] = paired([r["after"]["ratio"] - r["bicubic"]["ratio"] for r in rows])
    summary["before_minus_bicubic_ratio"] = paired([r["before"]["ratio"] - r["bicubic"]["ratio"] for r in rows])
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, required=True)
    parser.add_argument("--before", required=True, help="today's model: a shipped name or a checkpoint path")
    parser.add_argument("--after", required=True, help="the grid-free candidate: a shipped name or a checkpoint path")
    parser.add_argument("--sets", nargs="*", default=["Set5", "BSD68"])
    parser.add_argument("--limit", type=int, help="only the first N images of each set (say so when reporting)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    models = {name: sr_plan(spec, None).stages[0] for name, spec in (("before", args.before), ("after", args.after))}
    for name, model in models.items():
        if model.scale != args.scale:
            parser.error(f"--{name} is a ×{model.scale} model, not ×{args.scale}")
    record: dict[str, object] = {
        "scale": args.scale,
        "before": {"model": args.before, "correction": models["before"].correction},
        "after": {"model": args.after, "correction": models["after"].correction},
        **machine(),
        "threads": args.threads,
    }
    started = time.perf_counter()
    for name in args.sets:
        rows = [score(models, args.scale, path) for path in bench_files(name, args.limit)]
        record[name] = {**summarise(rows), "per_image": rows}
        print(json.dumps({name: {k: v for k, v in record[name].items() if k != "per_image"}}), flush=True)
    record["seconds"] = round(time.perf_counter() - started, 1)
    record["date"] = time.strftime("%Y-%m-%d")
    args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
