"""USRNet on this machine's CPU: training seconds per step at the sizes of ``srcli train usrnet`` (data drawing,
forward, backward, Adam; one step per scale in turn), and inference seconds of a whole image.

    python benchmarks/speed/usrnet_speed.py --threads 1 --out benchmarks/results/usrnet-speed.json

Each configuration: ``--warmup`` steps, then ``--steps`` timed ones (the median and the mean are reported).
One validation as ``--val Set5`` runs it (centre crops, one degradation per scale). Inference: a 128×128 LR
at ×4 (512² out) and a 320×320 image deblurred (×1), the network alone, best of three.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from srcli.archs.usrnet import USRNet
from srcli.io.testsets import image_files
from srcli.train.data import load_training_images
from srcli.train.loop import _adam, _descend
from srcli.train.usrnet import USRNetTask, USRNetTrainConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, TRAIN

DATA = TRAIN
SET5 = BENCH / "Set5"
SIZES = {
    "tiny-b8-p48": {"batch": 8, "patch": 48},
    "tiny-b8-p72": {"batch": 8, "patch": 72},
    "tiny-b16-p48": {"batch": 16, "patch": 48},
    "tiny-4iter-b8-p48": {"batch": 8, "patch": 48, "iterations": 4},
}


def time_training(name: str, sizes: dict[str, int], images: list[torch.Tensor], warmup: int, steps: int) -> dict:
    config = USRNetTrainConfig(data=DATA, out=Path("unused.safetensors"), run_dir=Path("unused"), **sizes)  # type: ignore[arg-type]
    task = USRNetTask(config)
    task.prepare(images, [], print)
    torch.manual_seed(0)
    net = task.build_net()
    model = task.wrap(net)
    optimizer = _adam(net, config)
    model.train()
    seconds = []
    for step in range(warmup + steps):
        started = time.perf_counter()
        inputs, targets = task.draw_batch(torch.Generator().manual_seed(step))
        _descend(optimizer, task.loss(inputs, targets))
        if step >= warmup:
            seconds.append(time.perf_counter() - started)
    return {
        "config": name,
        **sizes,
        "parameters": sum(p.numel() for p in net.parameters()),
        "steps_timed": steps,
        "seconds_per_step_median": round(statistics.median(seconds), 3),
        "seconds_per_step_mean": round(statistics.fmean(seconds), 3),
    }


def time_validation(images: list[torch.Tensor]) -> dict:
    """One validation of ``srcli train usrnet --val Set5`` at the default sizes (centre crops, 4 scales)."""
    config = USRNetTrainConfig(data=DATA, out=Path("unused.safetensors"), run_dir=Path("unused"))
    task = USRNetTask(config)
    task.prepare(images, image_files(SET5), print)
    torch.manual_seed(0)
    task.wrap(task.build_net()).eval()
    started = time.perf_counter()
    task.validate()
    return {"val": "Set5", "images": len(image_files(SET5)), "seconds": round(time.perf_counter() - started, 2)}


def time_inference(lr_side: int, scale: int) -> dict:
    torch.manual_seed(0)
    net = USRNet().eval()
    y = torch.rand(1, 3, lr_side, lr_side)
    kernel = torch.ones(1, 1, 5, 5) / 25
    best = float("inf")
    with torch.inference_mode():
        for _ in range(3):
            started = time.perf_counter()
            net(y, kernel, scale, torch.full((1, 1, 1, 1), 2.55 / 255))
            best = min(best, time.perf_counter() - started)
    side = lr_side * scale
    return {
        "lr_side": lr_side,
        "scale": scale,
        "seconds": round(best, 3),
        "output_mp_per_second": round(side * side / 1e6 / best, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--configs", nargs="+", default=list(SIZES))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = load_training_images(DATA, 96)
    result = {
        "threads": args.threads,
        "torch": torch.__version__,
        "load_average_at_start": list(map(float, Path("/proc/loadavg").read_text().split()[:3])),
        "training": [time_training(name, SIZES[name], images, args.warmup, args.steps) for name in args.configs],
        "validation": time_validation(images),
        "inference": [time_inference(128, 4), time_inference(320, 1)],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
