"""The JPEG path's time against the pixel-exact path's on 512² JPEGs → ×4, both with the same model so that only
the projection differs; rounds in turns, per quality the median ratio of summed times, and the load average.

    python benchmarks/jpeg/jpeg_speed_512.py --qualities 40,60,75,90 --rounds 3 \\
        --out benchmarks/results/jpeg-speed-512.json

The pictures are Set5 baby and Set14 lenna, pepper and bridge (all 512×512), saved by Pillow at each quality (4:2:0).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from srcli.checkpoints.resolve import resolve
from srcli.io.images import decode_picture
from srcli.tasks.jpeg_input import jpeg_input
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import network_path, upscale_jpeg_picture, upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, machine, ratio_in_turns

PHOTOS = [BENCH / "Set5" / "baby.png", *(BENCH / "Set14" / f"{name}.png" for name in ("lenna", "pepper", "bridge"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qualities", default="40,60,75,90")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="compact-jpeg-x4")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    model, _ = resolve(args.model, "sr")
    options = RunOptions()
    results: dict[str, object] = {
        "machine": machine(),
        "model": args.model,
        "network_path": network_path([model], options),
        "photos": [f"{p.parent.name}/{p.name}" for p in PHOTOS],
        "qualities": {},
    }
    for quality in map(int, args.qualities.split(",")):
        inputs = []
        for photo in PHOTOS:
            buffer = io.BytesIO()
            with Image.open(photo) as opened:
                opened.convert("RGB").save(buffer, "JPEG", quality=quality)
            picture = decode_picture(buffer.getvalue(), photo.with_suffix(".jpg").name)
            jpeg = jpeg_input(picture)
            assert jpeg is not None
            inputs.append((picture, jpeg))
        rounds, fractions = [], []
        for _ in range(args.rounds):
            box = jpeg_seconds = 0.0
            for picture, jpeg in inputs:
                started = time.perf_counter()
                upscale_picture(picture, model, options)
                box += time.perf_counter() - started
                started = time.perf_counter()
                _, found = upscale_jpeg_picture(picture, jpeg, model, options)
                jpeg_seconds += time.perf_counter() - started
                fractions.append(found.fraction)
            rounds.append((box, jpeg_seconds))
        row = {**ratio_in_turns(rounds, ("box", "jpeg")), "coefficients_min": min(fractions)}
        results["qualities"][str(quality)] = row  # type: ignore[index]
        print(f"q{quality}", json.dumps(row), flush=True)
    results["machine_after"] = machine()
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
