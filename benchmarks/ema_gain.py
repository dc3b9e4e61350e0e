"""The weight average against the weights of the last step, from one training checkpoint.

    python benchmarks/ema_gain.py training/wide-x4/state.safetensors --out benchmarks/results/ema-wide-x4.jsonl

A state written by ``srcli train sr --ema`` holds both (``model.*`` and ``ema.*``); each is
put in the same SR network inside PD and scored with the protocol of ``shared/README.md``
(PSNR-Y, rounded output) on Set5 and Set14. Appends one JSON line to OUT.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from srcli.archs import network_from_state_dict
from srcli.io.testsets import image_files
from srcli.maths.operators import AvgPool, PDWrapper
from srcli.train.sr import validate

BENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("state", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tensors = load_file(str(args.state))
    with safe_open(str(args.state), framework="pt") as handle:
        metadata = handle.metadata()
    if "ema_updates" not in metadata:
        parser.error(f"{args.state} holds no weight average (trained without --ema)")
    record: dict[str, object] = {"state": str(args.state), "step": int(metadata["step"])}
    record["ema_updates"] = int(metadata["ema_updates"])
    for kind in ("model", "ema"):
        weights = {key.split(".", 1)[1]: value for key, value in tensors.items() if key.startswith(f"{kind}.")}
        net = network_from_state_dict(weights)
        model = PDWrapper(net.eval(), AvgPool(net.scale))
        for name in ("Set5", "Set14"):
            record[f"{name}_{'last_step' if kind == 'model' else 'average'}"] = round(
                validate(model, image_files(BENCH / name), net.scale), 3
            )
    record["date"] = time.strftime("%Y-%m-%d")
    with args.out.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
