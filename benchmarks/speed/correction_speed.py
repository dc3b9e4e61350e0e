"""What the smooth correction costs beside nearest PD: one projection of a 512×512 ×4 RGB estimate
(float32, CPU), best of N, and the whole exact finish (``AvgPool.quantize``) for each.

    python benchmarks/speed/correction_speed.py --out benchmarks/results/correction-speed.json [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from srcli.maths.operators import AvgPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import best_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    y = torch.randint(0, 256, (1, 3, args.side, args.side), generator=generator)
    estimate = torch.rand(1, 3, 4 * args.side, 4 * args.side, generator=generator)
    record: dict[str, object] = {"lr_side": args.side, "scale": 4, "threads": args.threads}
    for correction in ("nearest", "smooth"):
        op = AvgPool(4, correction)
        project = best_of(args.repeats, lambda op=op: op.project(estimate, y / 255))
        quantize = best_of(args.repeats, lambda op=op: op.quantize(estimate, y, 255, unit=255))
        record[f"{correction}_project_s"], record[f"{correction}_quantize_s"] = round(project, 4), round(quantize, 4)
    record["date"] = time.strftime("%Y-%m-%d")
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
