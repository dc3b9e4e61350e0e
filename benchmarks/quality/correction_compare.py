"""PD's two corrections on one SR model, image by image: PSNR-Y, the block-border gradient ratio and
exactness of the bare network, nearest PD and smooth PD, with paired differences and their standard errors.

    python benchmarks/quality/correction_compare.py MODEL --sets Set5 BSD68 \\
        --out benchmarks/results/correction-NAME.json \\
        [--picture Set5/head --box 40,40,48,48] [--threads 1]

MODEL is a shipped name or a checkpoint path. Each image runs the network once, untiled, through
srcli's own engine (:func:`srcli.tasks.sr.upscale_picture`), and the three finishes reuse that output:
bare (rounded, no PD), ``--correction nearest`` and ``--correction smooth``. Protocol of
``shared/README.md`` (box LR, PSNR on BT.601 Y, ``scale`` pixels of border cropped); the ratio
(:func:`srcli.maths.metrics.block_border_ratio`) is taken on the whole output, and on the HR photo for reference.
``--picture`` writes a zoomed crop: bare | nearest | smooth | |nearest − bare| · 4 | |smooth − bare| · 4.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from srcli.checkpoints.resolve import sr_plan
from srcli.io.images import Picture, tensor_to_pil
from srcli.io.testsets import protocol_pair
from srcli.maths.metrics import block_border_ratio, psnr_y
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import bench_files, paired

FINISHES = {
    "bare": RunOptions(tile=0, pd=False),
    "nearest": RunOptions(tile=0, correction="nearest"),
    "smooth": RunOptions(tile=0, correction="smooth"),
}
DIFFERENCE_GAIN = 4


class Remembered(nn.Module):
    """The network, answering a repeated input with its last output (the finishes share one run)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net, self.last = net, None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.last is None or self.last[0].shape != x.shape or not torch.equal(self.last[0], x):
            self.last = (x.clone(), self.net(x))
        return self.last[1]


def finishes(model, lr: torch.Tensor) -> dict[str, torch.Tensor]:
    """``(3, s·h, s·w)`` uint8 output of each finish for a ``(3, h, w)`` uint8 LR."""
    picture = Picture(lr, None, 8)
    return {name: upscale_picture(picture, model, options).color for name, options in FINISHES.items()}


def score(model, scale: int, path: Path) -> dict[str, object]:
    hr, lr = protocol_pair(path, scale)
    outputs = finishes(model, lr[0])
    row: dict[str, object] = {"image": path.stem, "hr_ratio": round(block_border_ratio(hr.double() / 255, scale), 4)}
    for name, out in outputs.items():
        unit = out.unsqueeze(0).double() / 255
        sums = out.to(torch.int64).view(3, lr.shape[2], scale, lr.shape[3], scale).sum((2, 4))
        row[name] = {
            "psnr_y": round(psnr_y(unit, hr.double() / 255, scale), 4),
            "ratio": round(block_border_ratio(unit, scale), 4),
            "exact": bool(torch.equal(sums, lr[0].to(torch.int64) * scale * scale)),
        }
    return row


def summarise(rows: list[dict]) -> dict[str, object]:
    hr_ratio = round(sum(r["hr_ratio"] for r in rows) / len(rows), 4)
    summary: dict[str, object] = {"images": len(rows), "hr_ratio": hr_ratio}
    for name in FINISHES:
        summary[name] = {
            "psnr_y": round(sum(r[name]["psnr_y"] for r in rows) / len(rows), 4),
            "ratio": round(sum(r[name]["ratio"] for r in rows) / len(rows), 4),
            "exact": f"{sum(r[name]['exact'] for r in rows)}/{len(rows)}",
        }
    summary["smooth_minus_nearest_psnr_y"] = paired([r["smooth"]["psnr_y"] - r["nearest"]["psnr_y"] for r in rows])
    for name in ("nearest", "smooth"):
        summary[f"{name}_minus_bare_ratio"] = paired([r[name]["ratio"] - r["bare"]["ratio"] for r in rows])
    return summary


def zoomed_picture(model, scale: int, path: Path, box: tuple[int, int, int, int], out: Path) -> None:
    """The crop ``box`` (HR pixels: left, top, width, height) of each finish and the differences, ×4 nearest."""
    _, lr = protocol_pair(path, scale)
    outputs = finishes(model, lr[0])
    left, top, width, height = box
    crops = [value[:, top : top + height, left : left + width].to(torch.int32) for value in outputs.values()]
    bare = crops[0]
    crops += [((crop - bare).abs() * DIFFERENCE_GAIN).clamp(0, 255) for crop in crops[1:]]
    gap = torch.full((3, height, 2), 255, dtype=torch.int32)
    strip = torch.cat([part for crop in crops for part in (crop, gap)][:-1], dim=2)
    image = tensor_to_pil(strip.to(torch.uint8))
    image.resize((image.width * 4, image.height * 4), Image.NEAREST).save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--sets", nargs="*", default=["Set5", "BSD68"])
    parser.add_argument("--limit", type=int, help="only the first N images of each set (say so when reporting)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--picture", help="SET/STEM of the image to draw, e.g. Set5/head")
    parser.add_argument("--box", default="40,40,48,48", help="HR crop of --picture: left,top,width,height")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    (model,) = sr_plan(args.model, None).stages
    model = dataclasses.replace(model, net=Remembered(model.net))
    record: dict[str, object] = {"model": args.model, **model.as_json(), "receptive_radius": model.receptive_radius}
    started = time.perf_counter()
    for name in args.sets:
        files = bench_files(name, args.limit)
        rows = [score(model, model.scale, path) for path in files]
        record[name] = {**summarise(rows), "per_image": rows}
        print(json.dumps({name: {k: v for k, v in record[name].items() if k != "per_image"}}), flush=True)
    record["seconds"] = round(time.perf_counter() - started, 1)
    record["threads"] = args.threads
    record["date"] = time.strftime("%Y-%m-%d")
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    if args.picture:
        folder, stem = args.picture.split("/")
        path = next(p for p in bench_files(folder) if p.stem == stem)
        box = tuple(int(v) for v in args.box.split(","))
        zoomed_picture(model, model.scale, path, box, args.out.with_suffix(".png"))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
