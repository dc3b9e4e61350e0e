"""The JPEG path's time against the pixel-exact path's on a 512² JPEG → ×4 (Set5 baby at each quality), both
with the same model so that only the projection differs; rounds in turns, the median ratio and the load average.

    python benchmarks/jpeg/jpeg_speed_512.py --qualities 40,75,90 --rounds 3
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from srcli.checkpoints.resolve import resolve
from srcli.io.images import decode_picture
from srcli.tasks.jpeg_input import jpeg_input
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_jpeg_picture, upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, load

BABY = BENCH / "Set5" / "baby.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qualities", default="40,75,90")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="compact-jpeg-x4")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    model, _ = resolve(args.model, "sr")
    with Image.open(BABY) as opened:
        photo = opened.convert("RGB")
    options = RunOptions()
    for quality in map(int, args.qualities.split(",")):
        buffer = io.BytesIO()
        photo.save(buffer, "JPEG", quality=quality)
        picture = decode_picture(buffer.getvalue(), "baby.jpg")
        jpeg = jpeg_input(picture)
        assert jpeg is not None
        ratios = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            upscale_picture(picture, model, options)
            box = time.perf_counter() - started
            started = time.perf_counter()
            _, found = upscale_jpeg_picture(picture, jpeg, model, options)
            ratios.append((time.perf_counter() - started) / box)
        now = load()
        print(f"q{quality}: JPEG path / pixel-exact {statistics.median(ratios):.2f}× (rounds {ratios}), "
              f"coefficients {100 * found.fraction:.4f} %, load {now}")  # fmt: skip


if __name__ == "__main__":
    main()
