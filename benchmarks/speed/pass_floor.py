"""What one pass over a 512² → ×4 estimate costs on this machine, beside the issue-38 budget for PD's share.

    python benchmarks/speed/pass_floor.py [--rounds 7] --out benchmarks/results/pass-floor.json

A ``(1, 3, 2048, 2048)`` float32 estimate (50 MB) and its uint8 output (12.6 MB), 2 torch threads, best of
``--rounds``: reading it once (a sum), copying it, one in-place elementwise operation, the 4×4 box sums, rounding
into uint8, and the consistency measure srcli runs on every saved file (``tasks.check.box_consistency``). The budget
beside them is 4 % of ``overhead-512.json``'s network time (compact-x4 untiled, the same machine): PD, exact
quantisation and the consistency measure together would have to fit in it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from srcli.tasks.check import box_consistency

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import RESULTS, best_of, emit, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(2)
    generator = torch.Generator().manual_seed(0)
    estimate = torch.rand(1, 3, 2048, 2048, generator=generator) * 255
    copy = torch.empty_like(estimate)
    output = torch.empty(estimate.shape, dtype=torch.uint8)
    lr = F.avg_pool2d(estimate, 4).round().to(torch.uint8)
    saved = lr.repeat_interleave(4, -2).repeat_interleave(4, -1)  # an exact ×4 output of ``lr``
    passes = {
        "read once (sum)": lambda: estimate.sum(),
        "copy": lambda: copy.copy_(estimate),
        "add in place": lambda: copy.add_(1.0),
        "4x4 box sums": lambda: F.avg_pool2d(estimate, 4),
        "round into uint8": lambda: output.copy_(torch.round(estimate, out=copy)),
        "consistency measure": lambda: box_consistency(saved[0], lr[0], 4, 255),
    }
    for work in passes.values():
        work()  # warm-up
    seconds = {name: round(best_of(args.rounds, work), 5) for name, work in passes.items()}
    overhead = json.loads((RESULTS / "overhead-512.json").read_text())
    network = overhead["median_seconds"]["network"]
    record = {
        "what": __doc__.splitlines()[0],
        "machine": machine(),
        "threads": 2,
        "torch": torch.__version__,
        "best_seconds": seconds,
        "network_seconds": network,
        "network_source": "overhead-512.json",
        "budget_seconds_at_4_percent": round(0.04 * network, 5),
        "pd_exact_seconds_now": overhead["median_seconds"]["pd_exact"],
    }
    emit(record, args.out)


if __name__ == "__main__":
    main()
