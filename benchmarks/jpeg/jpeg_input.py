"""srcli's JPEG path against the pixel-exact one, on JPEG-coded box ×s LRs of the benchmark sets (s: the models').

For every image: HR (RGB, cropped to a multiple of s), LR = ``Image.reduce(s)`` saved by Pillow at each quality
(4:2:0). Two runs of ``upscale`` as the command makes them: the default for a JPEG (``--jpeg-model``, projected
onto the file's bins) and ``--degradation box`` (``--box-model``, pixel-exact PD onto the decoded LR). Per run:
PSNR-Y against HR (shared/README's protocol), the 8·s-pixel grid ratio (:func:`srcli.maths.metrics.block_border_ratio`,
the JPEG's 8×8 grid seen at ×s), and for the JPEG path the share of the file's coefficients the saved file
reproduces (reduce, encode with the file's tables). Differences are paired image by image, with standard errors.

    python benchmarks/jpeg/jpeg_input.py --sets Set14,BSD68 --qualities 40,60,75,90 \\
        --jpeg-model compact-jpeg-x4 --box-model compact-x4 --out benchmarks/results/jpeg-input
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from srcli.checkpoints.resolve import resolve
from srcli.io.images import decode_picture, encode_picture, pil_to_tensor
from srcli.maths.metrics import block_border_ratio, psnr_y
from srcli.tasks.jpeg_input import file_agreement, jpeg_input
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_jpeg_picture, upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, machine, paired


def measure(image_path: Path, quality: int, jpeg_model, box_model, options: RunOptions) -> dict[str, float]:
    scale = jpeg_model.scale
    grid = 8 * scale  # the JPEG's 8×8 block grid seen in the output
    with Image.open(image_path) as opened:
        hr_image = opened.convert("RGB")
    width, height = hr_image.width // scale * scale, hr_image.height // scale * scale
    hr_image = hr_image.crop((0, 0, width, height))
    buffer = io.BytesIO()
    hr_image.reduce(scale).save(buffer, "JPEG", quality=quality, subsampling="4:2:0")
    picture = decode_picture(buffer.getvalue(), image_path.name)
    jpeg = jpeg_input(picture)
    assert jpeg is not None
    hr = pil_to_tensor(hr_image).unsqueeze(0).double() / 255
    started = time.perf_counter()
    default, _ = upscale_jpeg_picture(picture, jpeg, jpeg_model, options)
    jpeg_seconds = time.perf_counter() - started
    started = time.perf_counter()
    box = upscale_picture(picture, box_model, options)
    box_seconds = time.perf_counter() - started
    saved = decode_picture(encode_picture(default, ".png"), "saved", trusted=True)  # what the file holds
    found = file_agreement(jpeg, saved.channels(), scale)
    outputs = {"jpeg": default.color.unsqueeze(0).double() / 255, "box": box.color.unsqueeze(0).double() / 255}
    return {
        "psnr_y_jpeg": psnr_y(outputs["jpeg"], hr, scale),
        "psnr_y_box": psnr_y(outputs["box"], hr, scale),
        "grid_jpeg": block_border_ratio(outputs["jpeg"], grid),
        "grid_box": block_border_ratio(outputs["box"], grid),
        "grid_hr": block_border_ratio(hr, grid),
        "coefficients": found.fraction,
        "exact": float(found.exact),
        "seconds_jpeg": jpeg_seconds,
        "seconds_box": box_seconds,
    }


def summarise(rows: list[dict[str, float]]) -> dict[str, float]:
    gain = paired([r["psnr_y_jpeg"] - r["psnr_y_box"] for r in rows], 6)
    return {
        "images": len(rows),
        "psnr_y_jpeg": statistics.fmean(r["psnr_y_jpeg"] for r in rows),
        "psnr_y_box": statistics.fmean(r["psnr_y_box"] for r in rows),
        "gain_db": gain["mean"],
        "gain_se_db": gain["standard_error"],
        "grid_jpeg": statistics.fmean(r["grid_jpeg"] for r in rows),
        "grid_box": statistics.fmean(r["grid_box"] for r in rows),
        "grid_hr": statistics.fmean(r["grid_hr"] for r in rows),
        "coefficients_min": min(r["coefficients"] for r in rows),
        "coefficients_mean": statistics.fmean(r["coefficients"] for r in rows),
        "files_exact": int(sum(r["exact"] for r in rows)),
        "seconds_ratio": sum(r["seconds_jpeg"] for r in rows) / sum(r["seconds_box"] for r in rows),
    }


def markdown(results: dict) -> str:
    stamp = results["machine"]
    lines = [
        f"JPEG input ×{results.get('scale', 4)}: `{results['jpeg_model']}` on the file's bins vs "
        f"`{results['box_model']}` pixel-exact (commit {stamp['commit'][:10]}, {stamp['cpu']}, load {stamp['load']}).",
        "",
        "| set | q | images | PSNR-Y JPEG path | PSNR-Y box | gain (± s.e.) | grid JPEG / box / HR | coefficients "
        "(min, files 100 %) | time ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, s in results["summary"].items():
        name, quality = key.split("@")
        lines.append(
            f"| {name} | {quality} | {s['images']} | {s['psnr_y_jpeg']:.2f} | {s['psnr_y_box']:.2f} | "
            f"{s['gain_db']:+.3f} ± {s['gain_se_db']:.3f} | {s['grid_jpeg']:.2f} / {s['grid_box']:.2f} / "
            f"{s['grid_hr']:.2f} | {100 * s['coefficients_min']:.3f} %, {s['files_exact']}/{s['images']} | "
            f"{s['seconds_ratio']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="Set14,BSD68")
    parser.add_argument("--qualities", default="40,60,75,90")
    parser.add_argument("--images", type=int, default=0, help="at most this many images per set (0: all)")
    parser.add_argument("--jpeg-model", default="compact-jpeg-x4")
    parser.add_argument("--box-model", default="compact-x4")
    parser.add_argument("--out", type=Path, required=True, help="results stem: writes STEM.json and STEM.md")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    jpeg_model, _ = resolve(args.jpeg_model, "sr")
    box_model, _ = resolve(args.box_model, "sr")
    if box_model.scale != jpeg_model.scale:
        parser.error(f"the models' scales differ: ×{jpeg_model.scale} and ×{box_model.scale}")
    options = RunOptions(tile=0)
    rows: dict[str, list[dict[str, float]]] = {}
    for name in args.sets.split(","):
        files = sorted((BENCH / name).glob("*.png"))
        files = files[: args.images] if args.images else files
        for quality in map(int, args.qualities.split(",")):
            key = f"{name}@{quality}"
            rows[key] = [measure(path, quality, jpeg_model, box_model, options) for path in files]
            summary = summarise(rows[key])
            print(key, json.dumps({k: round(v, 4) for k, v in summary.items()}), flush=True)
    results = {
        "jpeg_model": args.jpeg_model,
        "box_model": args.box_model,
        "scale": jpeg_model.scale,
        "machine": machine(),
        "summary": {key: summarise(value) for key, value in rows.items()},
        "images": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))


if __name__ == "__main__":
    main()
