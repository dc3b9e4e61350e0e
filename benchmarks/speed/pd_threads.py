"""PD + exact quantisation of one 512² → ×4 estimate on CPU, 1 against 2 torch threads, in turns.

The estimate is Set5 baby, bicubic ×4 plus noise of σ 1 level. On a loaded 2-core machine every small parallel
operation can wait for a descheduled worker thread; the outputs are compared too.

    nice -n 15 python benchmarks/speed/pd_threads.py [--repeats 5] --out benchmarks/results/pd-threads.json
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

from srcli.io.images import read_picture
from srcli.maths.exact import quantize_sr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, load, machine

BABY = BENCH / "Set5" / "baby.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pd-threads.json"))
    args = parser.parse_args()
    lr = read_picture(BABY).channels()[None].to(torch.int32)
    noise = torch.randn(1, 3, 2048, 2048, generator=torch.Generator().manual_seed(0))
    estimate = (torch.nn.functional.interpolate(lr.float(), scale_factor=4, mode="bicubic") + noise) / 255
    out = torch.empty(estimate.shape, dtype=torch.uint8)
    seconds: dict[int, list[float]] = {1: [], 2: []}
    results: dict[int, torch.Tensor] = {}
    loads = []
    for _ in range(args.repeats):
        loads.append(load())
        for threads in (1, 2):
            torch.set_num_threads(threads)
            started = time.perf_counter()
            quantize_sr(estimate, lr, 4, 255, unit=255, out=out)
            seconds[threads].append(time.perf_counter() - started)
            results[threads] = out.clone()
    loads.append(load())
    record = {
        "what": __doc__.splitlines()[0],
        "machine": machine(),
        "nice": os.nice(0),
        "torch": torch.__version__,
        "loadavg_per_repeat": loads,
        "median_seconds": {str(k): round(statistics.median(v), 3) for k, v in seconds.items()},
        "median_ratio_2_threads_to_1": round(
            statistics.median(b / a for a, b in zip(seconds[1], seconds[2], strict=True)), 2
        ),
        "per_repeat_seconds": {str(k): [round(s, 3) for s in v] for k, v in seconds.items()},
        "outputs_identical": bool(torch.equal(results[1], results[2])),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k != "per_repeat_seconds"}))


if __name__ == "__main__":
    main()
