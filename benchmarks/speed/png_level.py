"""Size and encode time of srcli's ×4 outputs as PNG at every zlib level (Pillow's ``compress_level`` 0–9) and strategy.

Beside the levels (zlib's default strategy), the strategies Pillow passes on as ``compress_type``: run-length
matches only (``rle``, ``Z_RLE``) and Huffman coding alone (``huffman``, ``Z_HUFFMAN_ONLY``), which ignore the level.

The outputs are compact-x4 ×4 upscales (through ``upscale_picture``: PD + exact) of Set5 and BSD68 photos.
Every level is timed on every image in turns (level after level inside each repeat), the best of the repeats
kept, with the load average beside each repeat; every encoding is decoded and checked identical to the pixels.

    nice -n 15 python benchmarks/speed/png_level.py [--repeats 3] --out benchmarks/results/png-level.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srcli.checkpoints.resolve import resolve
from srcli.io.images import read_picture, tensor_to_pil
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, load, machine

IMAGES = ("Set5/bird.png", "Set5/butterfly.png", "BSD68/101085.png", "BSD68/108005.png")
VARIANTS: dict[str, dict[str, int]] = {str(level): {"compress_level": level} for level in range(10)}
VARIANTS |= {"rle": {"compress_level": 1, "compress_type": 3}, "huffman": {"compress_level": 1, "compress_type": 2}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/png-level.json"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = resolve("compact-x4", "sr")[0]
    outputs = {}
    for name in IMAGES:
        picture = read_picture(BENCH / name)
        outputs[name] = tensor_to_pil(upscale_picture(picture, model, RunOptions()).channels())
    best: dict[tuple[str, str], float] = {}
    sizes: dict[tuple[str, str], int] = {}
    loads = []
    for _ in range(args.repeats):
        loads.append(load())
        for level, settings in VARIANTS.items():
            for name, image in outputs.items():
                buffer = io.BytesIO()
                started = time.perf_counter()
                image.save(buffer, format="PNG", **settings)
                elapsed = time.perf_counter() - started
                best[name, level] = min(best.get((name, level), float("inf")), elapsed)
                sizes[name, level] = buffer.tell()
                decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
                assert np.array_equal(decoded, np.asarray(image)), (name, level)
    loads.append(load())
    raw = sum(image.width * image.height * 3 for image in outputs.values())
    megapixels = sum(image.width * image.height for image in outputs.values()) / 1e6
    by_level = {}
    for level in VARIANTS:
        seconds = sum(best[name, level] for name in IMAGES)
        size = sum(sizes[name, level] for name in IMAGES)
        by_level[level] = {
            "bytes": size,
            "ratio_to_raw": round(size / raw, 4),
            "seconds": round(seconds, 3),
            "mp_per_s": round(megapixels / seconds, 2),
            "per_image_bytes": {name: sizes[name, level] for name in IMAGES},
        }
    record = {
        "what": __doc__.splitlines()[0],
        "machine": machine(),
        "threads": 2,
        "nice": os.nice(0),
        "loadavg_per_repeat": loads,
        "images": {name: f"{image.width}x{image.height}" for name, image in outputs.items()},
        "output_megapixels": round(megapixels, 3),
        "repeats": args.repeats,
        "pixels_identical_at_every_level": True,
        "levels": by_level,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: (v["bytes"], v["seconds"]) for k, v in by_level.items()}))


if __name__ == "__main__":
    main()
