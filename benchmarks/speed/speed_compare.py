"""Relative CPU speed of two SR checkpoints of one scale, timed alternately in one process.

Run-to-run speed on a shared machine varies by up to 1.5×, so two models timed in separate
runs cannot be compared to better than that; timing them in turns, best of several rounds,
cancels most of it.

    python benchmarks/speed/speed_compare.py OLD.safetensors compact-x2 [--side 256] [--rounds 6]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from throughput import photo

from srcli.checkpoints.resolve import resolve
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_picture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", help="a model name from the manifest or a .safetensors path")
    parser.add_argument("second", help="a model name from the manifest or a .safetensors path")
    parser.add_argument("--side", type=int, default=256, help="input side in pixels")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    models = {name: resolve(name, "sr")[0] for name in (args.first, args.second)}
    picture = photo(args.side)
    for model in models.values():
        upscale_picture(picture, model, RunOptions())
    best = dict.fromkeys(models, float("inf"))
    for _ in range(args.rounds):
        for name, model in models.items():
            started = time.perf_counter()
            upscale_picture(picture, model, RunOptions())
            best[name] = min(best[name], time.perf_counter() - started)
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "threads": args.threads,
        "torch": torch.__version__,
        "input_side": args.side,
        "best_seconds": {name: round(seconds, 3) for name, seconds in best.items()},
        "second_over_first": round(best[args.second] / best[args.first], 3),
    }
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
