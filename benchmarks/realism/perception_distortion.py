"""The perception–distortion plot of ×4 SR (NIQE against PSNR-Y) on Set14 and BSD68, box LR.

    python benchmarks/realism/perception_distortion.py [--psnr compact-x4] [--realistic GAN.safetensors] \
        [--realism 0.25 0.5 0.75 1] [--peer benchmarks/results/peer-realesrgan-x4plus.jsonl] \
        [--false-texture benchmarks/results/false-texture-x4-peer.json]

Points: bicubic, the PSNR model, and, with ``--realistic``, the blends ``--realism F`` between the two
(``srcli.checkpoints.blend``: weights interpolated where the layouts match), each measured here; Real-ESRGAN x4plus
from the per-image records of ``peers/peer_realesrgan.py`` (means over the images it measured), its false texture from
``false_texture.py``'s record. Without ``--realistic`` the plot has what exists; run again with the checkpoint to
add the realism curve. False texture (:func:`srcli.maths.metrics.false_texture`: the set's mean local luma std
where the photo is flat, over the photo's own) is printed beside each point's label.
Writes OUT.json (every point: PSNR-Y, SSIM-Y, NIQE, detail, false texture, exact outputs) and OUT.png.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from srcli.archs import Model
from srcli.checkpoints.blend import blend
from srcli.checkpoints.pristine import shipped_pristine
from srcli.checkpoints.resolve import resolve
from srcli.io.images import Picture
from srcli.io.testsets import protocol_pair, score_sr
from srcli.maths.metrics import detail, false_texture
from srcli.maths.niqe import niqe
from srcli.tasks.bench import bicubic_upscale, false_texture_ratio
from srcli.tasks.check import box_consistency
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_picture
from srcli.train.plot import COLOURS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT, bench_files

RESULTS = ROOT / "benchmarks" / "results"
SCALE = 4
METRICS = ("psnr_y", "ssim_y", "niqe", "detail")


def measure(name: str, upscale, files: list[Path]) -> dict[str, object]:
    """Means of the metrics of ``upscale`` (``(1, 3, h, w)`` uint8 → ``(1, 3, 4h, 4w)`` uint8) over ``files``."""
    sums, exact, textures = dict.fromkeys(METRICS, 0.0), 0, []
    for path in files:
        hr, lr = protocol_pair(path, SCALE)
        sr = upscale(lr)
        unit, hr_unit = sr.double() / 255, hr.double() / 255
        psnr, ssim = score_sr(sr, hr, SCALE)
        values = {"psnr_y": psnr, "ssim_y": ssim, "niqe": niqe(unit, shipped_pristine()),
                  "detail": detail(unit, hr_unit, SCALE)}  # fmt: skip
        for key, value in values.items():
            sums[key] += value
        textures.append(false_texture(unit, hr_unit, SCALE))
        verdict = box_consistency(sr[0].to(torch.int32), lr[0].to(torch.int32), SCALE, 255)
        exact += verdict.exact and verdict.psnr_db == float("inf")
    point: dict[str, object] = {"label": name, "images": len(files)}
    point |= {key: round(total / len(files), 4) for key, total in sums.items()}
    return point | {"false_texture": round(false_texture_ratio(textures), 3), "exact_outputs": exact}


def srcli_upscaler(model: Model):
    def upscale(lr: torch.Tensor) -> torch.Tensor:
        return upscale_picture(Picture(lr[0], None, 8), model, RunOptions()).color.unsqueeze(0)

    return upscale


def peer_points(path: Path, set_name: str, textures: Path) -> list[dict[str, object]]:
    """Means per model other than srcli's from ``peers/peer_realesrgan.py``'s per-image records of one set, with the
    false texture ``realism/false_texture.py`` recorded for it in ``textures`` (where that file has it)."""
    if not path.is_file():
        return []
    ratios = json.loads(textures.read_text())["sets"].get(set_name, {}) if textures.is_file() else {}
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows = [r for r in rows if r.get("kind") == "image" and r["set"] == set_name and r["model"].startswith("realesr")]
    points = []
    for model in sorted({r["model"] for r in rows}):
        mine = [r for r in rows if r["model"] == model]
        point: dict[str, object] = {"label": model, "images": len(mine), "source": path.name}
        point |= {key: round(sum(r[key] for r in mine) / len(mine), 4) for key in METRICS}
        if model in ratios.get("ratio_to_photo", {}):
            point |= {"false_texture": ratios["ratio_to_photo"][model], "false_texture_source": textures.name}
        points.append(point | {"exact_outputs": sum(r["consistency_exact"] for r in mine)})
    return points


def colour_of(point: dict) -> str:
    """Bicubic gray, the realism curve red, peers green, srcli's PSNR model blue."""
    if point["label"] == "bicubic":
        return "#7f7f7f"
    if point.get("realism"):  # the PSNR model (realism 0) starts the curve in its own colour
        return COLOURS[1]
    return COLOURS[2] if str(point["label"]).startswith("realesr") else COLOURS[0]


def draw_panel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], title: str, points: list[dict]) -> None:
    """One set: NIQE (x, lower is more natural) against PSNR-Y (y); the realism curve joined by a line."""
    left, top, right, bottom = box
    xs, ys = [float(p["niqe"]) for p in points], [float(p["psnr_y"]) for p in points]
    x0, x1 = math.floor(min(xs) - 0.3), math.ceil(max(xs) + 0.3)  # whole units, half dB: 5 exact tick steps
    y0, y1 = math.floor(2 * min(ys) - 0.6) / 2, math.ceil(2 * max(ys) + 0.6) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return left + (x - x0) / (x1 - x0) * (right - left), bottom - (y - y0) / (y1 - y0) * (bottom - top)

    draw.rectangle(box, outline="black")
    for i in range(6):
        x_value, y_value = x0 + (x1 - x0) * i / 5, y0 + (y1 - y0) * i / 5
        x_tick, y_tick = f"{x_value:.1f}", f"{y_value:.1f}"
        px, _ = at(x_value, y0)
        _, py = at(x0, y_value)
        draw.line([px, bottom, px, bottom + 5], fill="black")
        draw.text((px - 12, bottom + 8), x_tick, fill="black")
        draw.line([left - 5, py, left, py], fill="black")
        draw.text((left - 48, py - 6), y_tick, fill="black")
    draw.text(((left + right) / 2 - 80, top - 22), title, fill="black")
    draw.text((left + 6, top + 6), "FT: false texture (flat-area local std / photo's)", fill="black")
    x_label = "NIQE (srcli's pristine model; lower = more natural)"
    draw.text(((left + right) / 2 - 150, bottom + 26), x_label, fill="black")
    draw.text((left - 48, top - 22), "PSNR-Y dB", fill="black")
    curve = [at(float(p["niqe"]), float(p["psnr_y"])) for p in points if p.get("realism") is not None]
    if len(curve) > 1:
        draw.line(curve, fill=COLOURS[1], width=2)
    for point in points:
        px, py = at(float(point["niqe"]), float(point["psnr_y"]))
        colour = colour_of(point)
        draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=colour)
        texture = f" · FT {point['false_texture']:.2f}" if point.get("false_texture") is not None else ""
        draw.text((px + 7, py - 7), f"{point['label']}{texture}", fill=colour)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psnr", default="compact-x4", help="the PSNR model: a manifest name or a checkpoint")
    parser.add_argument("--realistic", help="the realistic (GAN) checkpoint; its blends with --psnr are added")
    parser.add_argument("--realism", type=float, nargs="+", default=[0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--peer", type=Path, default=RESULTS / "peer-realesrgan-x4plus.jsonl")
    parser.add_argument("--false-texture", type=Path, default=RESULTS / "false-texture-x4-peer.json")
    parser.add_argument("--sets", nargs="+", default=["Set14", "BSD68"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "perception-distortion-x4")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    psnr = resolve(args.psnr, "sr")[0]
    upscalers = {
        "bicubic": (None, lambda lr: bicubic_upscale(lr, SCALE)),
        psnr.name: (0.0 if args.realistic else None, srcli_upscaler(psnr)),  # the realism curve starts here
    }
    if args.realistic:
        realistic = resolve(args.realistic, "sr")[0]
        for realism in args.realism:
            upscalers[f"realism {realism:g}"] = (realism, srcli_upscaler(blend(psnr, realistic, realism)))
    record: dict[str, object] = {"date": time.strftime("%Y-%m-%d"), "psnr_model": args.psnr,
                                 "realistic_model": args.realistic, "lr": "box (Image.reduce)", "sets": {}}  # fmt: skip
    for name in args.sets:
        files = bench_files(name)
        points = []
        for label, (realism, upscale) in upscalers.items():
            points.append(measure(label, upscale, files) | {"realism": realism})
            print(json.dumps({"set": name, **points[-1]}), flush=True)
        record["sets"][name] = points  # type: ignore[index]
    sets: dict[str, list[dict]] = record["sets"]  # type: ignore[assignment]
    for name, points in sets.items():  # read last: realism/false_texture.py may still be writing its record
        points += peer_points(args.peer, name, args.false_texture)
    width, height = 560 * len(sets), 520
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for index, (name, points) in enumerate(sets.items()):
        draw_panel(draw, (560 * index + 70, 50, 560 * index + 530, height - 70), f"{name} x4 (box LR)", points)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out.with_suffix(".png"))
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
