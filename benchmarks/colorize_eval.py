"""Colorization against the colour originals, and the exact round trip, recorded.

    python benchmarks/colorize_eval.py weights/colornet.safetensors --name colornet --default

For every image of each set: gray from the colour original (both operators), colorize through
the pipeline of ``srcli colorize`` (PD + exact quantisation), save as PNG, and check that the
saved file turns back into the gray exactly (channel mean; Pillow's ``convert("L")``). Then PSNR
(RGB, 8-bit) against the original beside the gray copy (R = G = B = gray), and Hasler–Süsstrunk
colourfulness beside the originals'. ``--sweep`` also measures other temperatures on Set14
(the calibration set of ``srcli train colorize``; BSD68 is never used to choose). Writes the manifest entry (with
``--name``), benchmarks/results/colorize-NAME.json and a side-by-side picture
(gray | srcli | original) of the first BSD68 images.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from entries import model_entry, write_entry
from PIL import Image

from srcli.archs import describe
from srcli.checkpoints.load import load_network
from srcli.io.images import Picture, encode_picture, read_picture, tensor_to_pil
from srcli.io.testsets import image_files
from srcli.maths.metrics import colourfulness, has_colour, psnr
from srcli.tasks.colorize import colorize_gray, gray_of
from srcli.tasks.run import RunOptions

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "data" / "bench"
SIDE_BY_SIDE_IMAGES = 4


def evaluate_set(net: torch.nn.Module, folder: Path, modes: tuple[str, ...]) -> tuple[dict[str, object], list]:
    """Mean metrics over the colour images of ``folder`` (gray ones are left out) and the
    (gray, output, original) triples."""
    rows, triples = [], []
    for path in image_files(folder):
        picture = read_picture(path)
        if not has_colour(picture.color):
            continue  # a gray original (even one stored as RGB) has no colour to compare with
        row: dict[str, object] = {"image": path.name}
        for mode in modes:
            gray = gray_of(picture, mode)
            color = colorize_gray(gray, 255, describe(net), mode, RunOptions())
            data = encode_picture(Picture(color, None, 8), ".png")
            with Image.open(io.BytesIO(data)) as saved:
                saved_rgb = torch.from_numpy(np.asarray(saved)).permute(2, 0, 1)
                if mode == "mean":
                    row["exact_mean"] = bool(torch.equal(saved_rgb.to(torch.int64).sum(0), 3 * gray[0].to(torch.int64)))
                else:
                    row["exact_bt601"] = saved.convert("L").tobytes() == gray.numpy().tobytes()
            if mode == "mean":
                original = picture.color.to(torch.float64)
                row["psnr"] = psnr(saved_rgb.to(torch.float64), original, 255.0)
                row["gray_copy_psnr"] = psnr(gray.expand(3, -1, -1).to(torch.float64), original, 255.0)
                row["colourfulness"] = colourfulness(saved_rgb)
                row["original_colourfulness"] = colourfulness(picture.color)
                triples.append((gray, saved_rgb, picture.color))
        rows.append(row)
    summary: dict[str, object] = {"images": len(rows)}
    for key in ("psnr", "gray_copy_psnr", "colourfulness", "original_colourfulness"):
        summary[key] = round(sum(float(r[key]) for r in rows) / len(rows), 3)
    summary["colourfulness_ratio"] = round(summary["colourfulness"] / summary["original_colourfulness"], 3)
    for mode in modes:
        summary[f"exact_{mode}"] = f"{sum(bool(r[f'exact_{mode}']) for r in rows)}/{len(rows)}"
    return summary, triples


def side_by_side(triples: list, path: Path) -> None:
    """A JPEG with one row per image: gray | srcli | original."""
    tiles = [[tensor_to_pil(g.expand(3, -1, -1)), tensor_to_pil(c), tensor_to_pil(o)] for g, c, o in triples]
    width = max(sum(t.width for t in row) for row in tiles)
    height = sum(row[0].height for row in tiles)
    canvas = Image.new("RGB", (width, height), "white")
    top = 0
    for row in tiles:
        left = 0
        for tile in row:
            canvas.paste(tile, (left, top))
            left += tile.width
        top += row[0].height
    canvas.save(path, quality=90)  # a picture for people: JPEG keeps the repository small


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--default", action="store_true")
    parser.add_argument("--sweep", type=float, nargs="*", default=[], help="temperatures to try on Set14")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    net, header = load_network(args.weights)
    record: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {args.threads} threads",
        "model": args.name,
        "temperature": float(net.temperature),
        "saturation": float(net.saturation),
    }
    sweep = {}
    stored = float(net.temperature)
    for temperature in args.sweep:
        net.temperature.fill_(temperature)
        sweep[str(temperature)] = evaluate_set(net, BENCH / "Set14", ("mean",))[0]
    net.temperature.fill_(stored)
    if sweep:
        record["set14_temperature_sweep"] = sweep
    results, pictures = {}, []
    for name in ("Set5", "BSD68"):
        results[name], triples = evaluate_set(net, BENCH / name, ("mean", "bt601"))
        if name == "BSD68":
            pictures = triples[:SIDE_BY_SIDE_IMAGES]
    record["results"] = results
    out = ROOT / "benchmarks" / "results"
    side_by_side(pictures, out / f"colorize-{args.name}-bsd68.jpg")
    (out / f"colorize-{args.name}.json").write_text(json.dumps(record, indent=2) + "\n")
    entry = model_entry(args.name, args.weights, net, header, args.default, results, task="colorize", scale=1)
    write_entry(entry, lambda m: m["task"] == "colorize")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
