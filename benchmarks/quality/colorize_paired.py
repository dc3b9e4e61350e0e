"""Two colorization checkpoints image by image: the paired difference of their PSNR (RGB, 8-bit) against the colour
originals and of their colourfulness ratio, each at its own calibrated decoding, through ``srcli colorize``'s engine.

    python benchmarks/quality/colorize_paired.py weights/colorunet.safetensors RUN/colorunet.safetensors \\
        --out benchmarks/results/colorize-paired-NAME.json

Sets: BSD68 and Set5 (the issue's), and ``--unseen`` photos outside every set. Differences are second − first, with
the standard error of their mean over the images.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from colorize_eval import evaluate_row, set_pictures, unseen_picture

from srcli.checkpoints.load import load_network
from srcli.io.images import Picture
from srcli.maths.metrics import has_colour

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, machine, paired


def scores(net: torch.nn.Module, name: str, picture: Picture) -> tuple[float, float]:
    """PSNR (RGB, dB) of the saved exact 8-bit colorization against the original (:func:`colorize_eval.evaluate_row`),
    and its colourfulness over the original's."""
    row, _ = evaluate_row(net, name, picture, ("mean",))
    return float(row["psnr"]), float(row["colourfulness"]) / max(float(row["original_colourfulness"]), 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--unseen", nargs="*", default=[], help="photos outside every set: PATH[@l,t,r,b]")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    nets = [load_network(path)[0] for path in (args.first, args.second)]
    sets = {name: set_pictures(BENCH / name) for name in ("BSD68", "Set5")}
    if args.unseen:
        sets["unseen"] = [unseen_picture(spec) for spec in args.unseen]
    results: dict[str, object] = {"machine": machine(), "first": str(args.first), "second": str(args.second)}
    for name, pictures in sets.items():
        rows = []
        for image, picture in pictures:
            if has_colour(picture.color):
                (psnr_a, ratio_a), (psnr_b, ratio_b) = (scores(net, image, picture) for net in nets)
                rows.append({"image": image, "psnr": [psnr_a, psnr_b], "ratio": [ratio_a, ratio_b]})
        results[name] = {
            "images": len(rows),
            "psnr_difference_db": paired([r["psnr"][1] - r["psnr"][0] for r in rows], 3),
            "per_image_ratio_difference": paired([r["ratio"][1] - r["ratio"][0] for r in rows], 3),
            "rows": rows,
        }
        print(name, {k: v for k, v in results[name].items() if k != "rows"}, flush=True)  # type: ignore[union-attr]
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
