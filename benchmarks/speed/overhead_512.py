"""One 512² → ×4 file through compact-x4, CPU: the network against PD + exact quantisation, the consistency measure
and the PNG encoding (level 3, srcli's, and 6, Pillow's), all from the same repeats, in turns.

    nice -n 15 python benchmarks/speed/overhead_512.py [--repeats 3] --out benchmarks/results/overhead-512.json

The picture is Set5 baby (512×512); the untiled run is timed, so the network sees the whole image.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from srcli.checkpoints.resolve import resolve
from srcli.io.images import encode_picture, read_picture
from srcli.tasks.check import box_consistency
from srcli.tasks.run import RunOptions, Timings
from srcli.tasks.sr import network_path, upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, load, machine

BABY = BENCH / "Set5" / "baby.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/overhead-512.json"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = resolve("compact-x4", "sr")[0]
    picture = read_picture(BABY)
    options = RunOptions(tile=0)
    upscale_picture(picture, model, options)  # oneDNN's first-call kernels
    rows, loads = [], []
    for _ in range(args.repeats):
        loads.append(load())
        timings = Timings()
        output = upscale_picture(picture, model, options, timings=timings)
        started = time.perf_counter()
        verdict = box_consistency(output.channels(), picture.channels(), 4, 255)
        measure = time.perf_counter() - started
        assert verdict.exact
        encodes = {}
        for level in (3, 6):
            started = time.perf_counter()
            encode_picture(output, ".png", png_level=level)
            encodes[level] = time.perf_counter() - started
        rows.append((timings.network, timings.projection, measure, encodes[3], encodes[6]))
    loads.append(load())
    network, projection, measure, png3, png6 = (statistics.median(column) for column in zip(*rows, strict=True))
    record = {
        "what": __doc__.splitlines()[0],
        "machine": machine(),
        "threads": 2,
        "nice": os.nice(0),
        "torch": torch.__version__,
        "network_path": network_path([model], options),
        "loadavg_per_repeat": loads,
        "median_seconds": {
            "network": round(network, 3),
            "pd_exact": round(projection, 3),
            "consistency_measure": round(measure, 3),
            "png_level_3": round(png3, 3),
            "png_level_6": round(png6, 3),
        },
        "ratio_to_network": {
            "pd_exact": round(projection / network, 4),
            "pd_exact_and_measure": round((projection + measure) / network, 4),
            "png_level_3": round(png3 / network, 4),
            "png_level_6": round(png6 / network, 4),
        },
        "per_repeat_seconds": [[round(v, 4) for v in row] for row in rows],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record["ratio_to_network"] | record["median_seconds"]))


if __name__ == "__main__":
    main()
