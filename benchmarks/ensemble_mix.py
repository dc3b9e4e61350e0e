"""Self-ensembles of several SR nets averaged together, against each net's own, on one folder.

    python benchmarks/ensemble_mix.py --scale 2 --set ../shared/data/bench/Set5 \
        --out benchmarks/results/ensemble-mix-x2.json NAME=WEIGHTS ...

Each net runs as the PD-projected 8-way self-ensemble a ``--teacher`` uses; for every subset of
the nets the mean of their estimates is rounded to 8 bits and scored with the protocol of
``shared/README.md`` (PSNR-Y, border = scale). A mix that beats every single self-ensemble would
make a better distillation teacher than any one net.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import torch

from srcli.io.testsets import image_files, protocol_pair
from srcli.maths.metrics import psnr_y
from srcli.train.teacher import load_teacher


def named_path(text: str) -> tuple[str, Path]:
    name, _, path = text.partition("=")
    if not path:
        raise argparse.ArgumentTypeError(f"expected NAME=WEIGHTS, got {text!r}")
    return name, Path(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nets", type=named_path, nargs="+")
    parser.add_argument("--scale", type=int, required=True)
    parser.add_argument("--set", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pairs = [protocol_pair(path, args.scale) for path in image_files(args.set)]
    truths = [hr.double() / 255 for hr, _ in pairs]
    estimates: dict[str, list[torch.Tensor]] = {}
    with torch.inference_mode():
        for name, path in args.nets:
            teacher = load_teacher(path, args.scale)
            estimates[name] = [teacher(lr.float() / 255).double() for _, lr in pairs]

    def score(names: tuple[str, ...]) -> float:
        total = 0.0
        for index, truth in enumerate(truths):
            mean = sum(estimates[name][index] for name in names) / len(names)
            total += psnr_y(mean.clamp(0, 1).mul(255).round() / 255, truth, args.scale)
        return round(total / len(truths), 3)

    mixes = [
        {"nets": list(names), "psnr_y": score(names)}
        for size in range(1, len(args.nets) + 1)
        for names in itertools.combinations(estimates, size)
    ]
    record = {
        "set": args.set.name,
        "scale": args.scale,
        "weights": {name: str(path) for name, path in args.nets},
        "mixes": sorted(mixes, key=lambda mix: -mix["psnr_y"]),
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record["mixes"][:5]))


if __name__ == "__main__":
    main()
