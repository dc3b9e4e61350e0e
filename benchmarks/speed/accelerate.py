"""compact-x4 on 256² tiles, CPU: eager channels-last against torch.compile, eager contiguous and eager bf16.

One process: the compiled graph is built first (its time recorded), then every arm runs once per round, in turns,
for ``--rounds`` rounds, with the load average beside each round; medians and per-round ratios to eager are
reported, and the largest difference of each arm's output from eager's.

    nice -n 15 python benchmarks/speed/accelerate.py [--rounds 7] --out benchmarks/results/accelerate.json
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import load, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/accelerate.json"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    net = resolve("compact-x4", "sr")[0].net.eval().to(memory_format=torch.channels_last)
    batch = torch.rand(1, 3, args.side, args.side, generator=torch.Generator().manual_seed(0))
    batch = batch.contiguous(memory_format=torch.channels_last)
    contiguous = resolve("compact-x4", "sr")[0].net.eval()
    arms = {
        "eager channels_last": net,
        "torch.compile": torch.compile(net, dynamic=False),
        "eager contiguous": lambda x: contiguous(x.contiguous()),
    }
    bf16 = resolve("compact-x4", "sr")[0].net.eval().to(torch.bfloat16, memory_format=torch.channels_last)
    first: dict[str, float] = {}
    outputs: dict[str, torch.Tensor] = {}

    def run(name: str) -> float:
        started = time.perf_counter()
        with torch.inference_mode():
            out = bf16(batch.to(torch.bfloat16)).float() if name == "eager bf16" else arms[name](batch)
        elapsed = time.perf_counter() - started
        outputs[name] = out
        return elapsed

    names = [*arms, "eager bf16"]
    for name in names:  # first calls: oneDNN kernels, and the compilation
        first[name] = run(name)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    loads = []
    for _ in range(args.rounds):
        loads.append(load())
        for name in names:
            seconds[name].append(run(name))
    loads.append(load())
    reference = outputs["eager channels_last"]
    eager = seconds["eager channels_last"]
    record = {
        "what": __doc__.splitlines()[0],
        "machine": machine(),
        "threads": 2,
        "nice": os.nice(0),
        "torch": torch.__version__,
        "side": args.side,
        "rounds": args.rounds,
        "loadavg_per_round": loads,
        "arms": {
            name: {
                "first_call_seconds": round(first[name], 2),
                "median_seconds": round(statistics.median(seconds[name]), 4),
                "best_seconds": round(min(seconds[name]), 4),
                "median_ratio_to_eager": round(
                    statistics.median(e / s for e, s in zip(eager, seconds[name], strict=True)), 3
                ),
                "per_round_seconds": [round(s, 4) for s in seconds[name]],
                "max_abs_difference_from_eager": float((outputs[name] - reference).abs().max()),
                "calls_to_repay_compilation": None,
            }
            for name in names
        },
    }
    compiled = record["arms"]["torch.compile"]  # type: ignore[index]
    saved = statistics.median(eager) - statistics.median(seconds["torch.compile"])
    compiled["calls_to_repay_compilation"] = round(first["torch.compile"] / saved, 1) if saved > 0 else "never"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({n: {k: v for k, v in a.items() if k != "per_round_seconds"} for n, a in record["arms"].items()}))


if __name__ == "__main__":
    main()
