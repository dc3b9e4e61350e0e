"""Colorization against the colour originals, and the exact round trip, recorded.

    python benchmarks/quality/colorize_eval.py weights/colorunet.safetensors --name colorunet --default \
        --vividness 0 1 --unseen /path/photo.jpg@0,0,400,300

For every image of each set: gray from the colour original (both operators), colorize through
the pipeline of ``srcli colorize`` (PD + exact quantisation), save as PNG, and check that the
saved file turns back into the gray exactly (channel mean; Pillow's ``convert("L")``). Then PSNR
(RGB, 8-bit) against the original beside the gray copy (R = G = B = gray), paired image by image
(the mean gain and its standard error), and Hasler–Süsstrunk colourfulness beside the originals'
(the ratio of the means, and the mean of the per-image ratios with its standard error). Issue 41
asks for a ratio of at least 0.8 and a gain of at least 0.5 dB (``meets_issue_41``).

``--vividness`` measures each dial setting (``srcli colorize --vividness``; the model's own decoding
without it); the first is the one recorded in the manifest. ``--unseen`` adds a set of photos outside
the training and benchmark sets (``PATH`` or ``PATH@left,top,right,bottom`` for a crop; its rows are recorded image
by image). ``--picture NAME...`` draws the side-by-side of those images (of any set, by file name) small, for the
README, as ``colorize-NAME-picture.jpg``. ``--sweep``
also measures other temperatures on Set14 (the calibration set of ``srcli train colorize``; BSD68 is
never used to choose). Writes the manifest entry (with ``--name``, unless ``--no-manifest``),
benchmarks/results/colorize-NAME.json and a side-by-side picture (gray | srcli | original) of the first
BSD68 images.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from entries import model_entry, write_entry
from PIL import Image

from srcli.archs import describe
from srcli.checkpoints.load import load_network
from srcli.io.images import Picture, encode_picture, pil_to_tensor, read_picture, tensor_to_pil
from srcli.io.testsets import image_files
from srcli.maths.metrics import colourfulness, has_colour, psnr
from srcli.tasks.colorize import colorize_gray, gray_of, vivid_decoding
from srcli.tasks.run import RunOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, ROOT, machine, paired

SIDE_BY_SIDE_IMAGES = 4
TARGET_RATIO, TARGET_GAIN_DB = 0.8, 0.5


def unseen_picture(spec: str) -> tuple[str, Picture]:
    """``PATH`` or ``PATH@left,top,right,bottom``: the photo (its crop) as an 8-bit RGB picture, and its name."""
    path, _, box = spec.partition("@")
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    if box:
        rgb = rgb.crop(tuple(int(v) for v in box.split(",")))
    return f"{Path(path).name}{'@' + box if box else ''}", Picture(pil_to_tensor(rgb), None, 8)


def evaluate_row(net: torch.nn.Module, name: str, picture: Picture, modes: tuple[str, ...]) -> tuple[dict, tuple]:
    """One colour original: exactness per gray operator, PSNR and colourfulness (mean gray), and the
    (gray, output, original) triple."""
    row: dict[str, object] = {"image": name}
    triple: tuple = ()
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
            triple = (gray, saved_rgb, picture.color)
    return row, triple


def summarise(rows: list[dict], modes: tuple[str, ...]) -> dict[str, object]:
    """Means over the rows, the paired PSNR gain and per-image colourfulness ratio with standard errors."""
    summary: dict[str, object] = {"images": len(rows)}
    for key in ("psnr", "gray_copy_psnr", "colourfulness", "original_colourfulness"):
        summary[key] = round(sum(float(r[key]) for r in rows) / len(rows), 3)
    ratio = float(summary["colourfulness"]) / float(summary["original_colourfulness"])
    summary["colourfulness_ratio"] = round(ratio, 3)
    gain = paired([float(r["psnr"]) - float(r["gray_copy_psnr"]) for r in rows], 3)
    summary["psnr_gain_db"], summary["psnr_gain_se_db"] = gain["mean"], gain["standard_error"]
    per_image = [float(r["colourfulness"]) / max(float(r["original_colourfulness"]), 1e-9) for r in rows]
    ratio_of_image = paired(per_image, 3)
    summary["per_image_ratio"], summary["per_image_ratio_se"] = ratio_of_image["mean"], ratio_of_image["standard_error"]
    for mode in modes:
        summary[f"exact_{mode}"] = f"{sum(bool(r[f'exact_{mode}']) for r in rows)}/{len(rows)}"
    summary["meets_issue_41"] = (
        ratio >= TARGET_RATIO
        and float(gain["mean"] or 0.0) >= TARGET_GAIN_DB
        and all(bool(r[f"exact_{mode}"]) for r in rows for mode in modes)
    )
    return summary


def evaluate_pictures(
    net: torch.nn.Module, pictures: list[tuple[str, Picture]], modes: tuple[str, ...], rows: list | None = None
) -> tuple[dict[str, object], list]:
    """The summary over the colour pictures (gray ones are left out: no colour to compare with) and
    the (gray, output, original) triples; each image's row is appended to ``rows`` where given."""
    kept, triples = [], []
    for name, picture in pictures:
        if has_colour(picture.color):
            row, triple = evaluate_row(net, name, picture, modes)
            kept.append(row)
            triples.append((name, *triple))
    if rows is not None:
        rows.extend(kept)
    return summarise(kept, modes), triples


def set_pictures(folder: Path) -> list[tuple[str, Picture]]:
    return [(path.name, read_picture(path)) for path in image_files(folder)]


def side_by_side(triples: list, path: Path, tile_width: int | None = None, quality: int = 90) -> None:
    """A JPEG with one row per image: gray | srcli | original (each tile ``tile_width`` pixels wide where given)."""
    tiles = [[tensor_to_pil(g.expand(3, -1, -1)), tensor_to_pil(c), tensor_to_pil(o)] for _, g, c, o in triples]
    if tile_width is not None:
        sizes = [(tile_width, round(row[0].height * tile_width / row[0].width)) for row in tiles]
        tiles = [
            [tile.resize(size, Image.Resampling.LANCZOS) for tile in row]
            for row, size in zip(tiles, sizes, strict=True)
        ]
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
    canvas.save(path, quality=quality)  # a picture for people: JPEG keeps the repository small


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--default", action="store_true")
    parser.add_argument("--no-manifest", action="store_true", help="record the results only")
    parser.add_argument("--vividness", type=float, nargs="*", default=[], help="dial settings to measure")
    parser.add_argument("--unseen", nargs="*", default=[], help="photos outside every set: PATH[@l,t,r,b]")
    parser.add_argument("--sets", nargs="*", default=["Set5", "BSD68"])
    parser.add_argument("--sweep", type=float, nargs="*", default=[], help="temperatures to try on Set14")
    parser.add_argument("--picture", nargs="*", default=[], help="image names for the README's side-by-side")
    parser.add_argument("--picture-width", type=int, default=192, help="its tiles' width in pixels")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    net, header = load_network(args.weights)
    calibrated = float(net.temperature), float(net.saturation)
    record: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "threads": args.threads,
        "model": args.name,
        "temperature": calibrated[0],
        "saturation": calibrated[1],
    }
    sweep = {}
    for temperature in args.sweep:
        net.temperature.fill_(temperature)
        sweep[str(temperature)] = evaluate_pictures(net, set_pictures(BENCH / "Set14"), ("mean",))[0]
    net.temperature.fill_(calibrated[0])
    if sweep:
        record["set14_temperature_sweep"] = sweep
    sets = {name: set_pictures(BENCH / name) for name in args.sets}
    if args.unseen:
        sets["unseen"] = [unseen_picture(spec) for spec in args.unseen]
    by_setting: dict[str, dict[str, object]] = {}
    pictures: list = []
    chosen_triples: dict[str, tuple] = {}
    unseen_rows: dict[str, list] = {}
    for vividness in args.vividness or [None]:
        decoding = calibrated if vividness is None else vivid_decoding(vividness, *calibrated)
        net.temperature.fill_(decoding[0])
        net.saturation.fill_(decoding[1])
        results: dict[str, object] = {"temperature": round(decoding[0], 4), "saturation": round(decoding[1], 4)}
        setting = "calibrated" if vividness is None else f"vividness {vividness:g}"
        for name, chosen in sets.items():
            rows = unseen_rows.setdefault(setting, []) if name == "unseen" else None
            results[name], triples = evaluate_pictures(net, chosen, ("mean", "bt601"), rows)
            if name == "BSD68" and not pictures:
                pictures = triples[:SIDE_BY_SIDE_IMAGES]
            if not by_setting:
                chosen_triples |= {t[0]: t for t in triples if t[0] in args.picture}
        by_setting[setting] = results
    net.temperature.fill_(calibrated[0])
    net.saturation.fill_(calibrated[1])
    record["results"] = by_setting
    record["unseen_photos"] = args.unseen
    if unseen_rows:
        record["unseen_rows"] = unseen_rows
    out = ROOT / "benchmarks" / "results"
    if pictures:
        side_by_side(pictures, out / f"colorize-{args.name}-bsd68.jpg")
    if args.picture:
        drawn = [chosen_triples[name] for name in args.picture]
        side_by_side(drawn, out / f"colorize-{args.name}-picture.jpg", args.picture_width, quality=85)
    (out / f"colorize-{args.name}.json").write_text(json.dumps(record, indent=2) + "\n")
    if not args.no_manifest:
        first = next(iter(by_setting.values()))
        metrics = {name: first[name] for name in args.sets}
        entry = model_entry(args.name, args.weights, net, header, args.default, metrics, task="colorize", scale=1)
        write_entry(entry, lambda m: m["task"] == "colorize")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
