"""CPU speed of the shipped SR models, measured in one process, written as JSON.

* throughput, 256×256 → ×s, for every shipped SR model (DESIGN target for the default ×4:
  at least Real-ESRGAN compact through ncnn on the same 2 cores, 1.74 output MP/s);
* the cost of PD + exact quantisation against the network alone, 512×512 → ×4, same run,
  untiled and with the automatic tile size;
* tiled against untiled: time and the largest difference in levels;
* throughput by tile size.

    python benchmarks/speed/throughput.py [--threads 2] [--repeats 3] > benchmarks/results/speed.json

Inputs are crops of a training photo (shared/data/train), so the content is natural.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from srcli.checkpoints.manifest import load_manifest
from srcli.checkpoints.resolve import resolve
from srcli.io.images import Picture, pil_to_tensor
from srcli.tasks.run import RunOptions, Timings
from srcli.tasks.sr import upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import TRAIN

PHOTO = TRAIN / "12003.jpg"


def photo(side: int) -> Picture:
    """A ``side``×``side`` natural RGB picture (a training photo, bicubic-resized)."""
    image = Image.open(PHOTO).convert("RGB").resize((side, side), Image.Resampling.BICUBIC)
    return Picture(pil_to_tensor(image), None, 8)


def timed(picture: Picture, model, options: RunOptions, repeats: int) -> tuple[float, Timings, Picture]:
    """Best wall time of ``repeats`` runs after one warm-up run (oneDNN builds its kernels for
    each new shape on first use), with the network/projection split of that run."""
    upscale_picture(picture, model, options)
    best, best_timings, output = float("inf"), Timings(), picture
    for _ in range(repeats):
        timings = Timings()
        started = time.perf_counter()
        output = upscale_picture(picture, model, options, timings=timings)
        elapsed = time.perf_counter() - started
        if elapsed < best:
            best, best_timings = elapsed, timings
    return best, best_timings, output


def overhead(name: str, timings: Timings) -> dict[str, object]:
    """PD + exact quantisation time against the network's, from one run."""
    return {
        "model": name,
        "network_seconds": round(timings.network, 3),
        "pd_exact_seconds": round(timings.projection, 3),
        "ratio": round(timings.projection / timings.network, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    record: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"),
        "threads": args.threads,
        "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "torch": torch.__version__,
    }
    throughput = {}
    for entry in load_manifest():
        if entry.task != "sr" or not entry.shipped:
            continue
        model = resolve(entry.name, "sr")[0]
        seconds, timings, out = timed(photo(256), model, RunOptions(), args.repeats)
        throughput[entry.name] = {
            "seconds": round(seconds, 3),
            "output_mp_per_s": round(out.width * out.height / 1e6 / seconds, 3),
        }
    record["throughput_256_cpu"] = throughput

    default = next(e for e in load_manifest() if e.task == "sr" and e.scale == 4 and e.default)
    model = resolve(default.name, "sr")[0]
    picture = photo(512)
    seconds, timings, untiled = timed(picture, model, RunOptions(tile=0), args.repeats)
    record["pd_overhead_512_x4"] = overhead(default.name, timings)
    _, auto_timings, _ = timed(picture, model, RunOptions(), args.repeats)
    record["pd_overhead_512_x4_auto_tile"] = overhead(default.name, auto_timings) | {"tile": auto_timings.tiles[0]}
    by_tile = {}
    for tile in (64, 128, 256, 512):
        tiled_seconds, _, tiled = timed(picture, model, RunOptions(tile=tile), args.repeats)
        difference = (tiled.color.int() - untiled.color.int()).abs().max().item()
        by_tile[str(tile)] = {
            "seconds": round(tiled_seconds, 3),
            "output_mp_per_s": round(tiled.width * tiled.height / 1e6 / tiled_seconds, 3),
            "max_abs_difference_vs_untiled": difference,
        }
    record["untiled_512_x4_seconds"] = round(seconds, 3)
    record["tiles_512_x4"] = by_tile
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
