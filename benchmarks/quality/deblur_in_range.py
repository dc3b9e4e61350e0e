"""The saved file's residual of ``srcli deblur`` before and after the range-aware projection (issue 39): images blurred
by a 15-px motion kernel (``motion:15,30``, mirrored borders as ``srcli degrade`` blurs) at noise 0 and 2.55, rounded;
the shipped model's estimate projected as before (relaxed, then clipped and rounded) and now
(:func:`srcli.maths.in_range.relaxed_in_range`): the residual of the saved 8-bit image, PSNR-Y against the sharp
photo (the kernel's radius cropped) and the projection's CPU seconds at one thread.

    python benchmarks/quality/deblur_in_range.py --out benchmarks/results/deblur-in-range.json [IMAGES ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srcli.checkpoints.resolve import default_name, resolve
from srcli.io.degradation_spec import operator_for
from srcli.io.images import Picture
from srcli.maths.in_range import relaxed_in_range
from srcli.maths.metrics import psnr_y
from srcli.tasks.run import RunOptions, Timings
from srcli.tasks.sr_degraded import estimate
from srcli.tasks.usrnet import deblur_task

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, RESULTS, commit, machine

IMAGES = [BENCH / "Set5" / "butterfly.png", BENCH / "Set5" / "head.png", BENCH / "Set5" / "bird.png",
          BENCH / "BSD68" / "101085.png"]  # fmt: skip
KERNEL = "motion:15,30"


def measure(photo: Path, noise: float, model) -> dict[str, object]:
    """Both projections of one blurred photo: the saved file's residual, PSNR-Y and CPU seconds of each."""
    x = torch.from_numpy(np.array(Image.open(photo).convert("RGB"))).permute(2, 0, 1).to(torch.float64)
    operator = operator_for(KERNEL, 1, x.shape[-2], x.shape[-1])
    noisy = operator.A(x[None])[0] + noise * torch.randn(
        x.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    y = noisy.round().clamp(0, 255)
    task = deblur_task(model, RunOptions(), KERNEL, noise)
    item = Picture(color=y.to(torch.uint8), alpha=None, bit_depth=8)
    z = estimate(item, task.stages_for(item), task.options, Timings(), None)[None]
    row: dict[str, object] = {
        "image": f"{photo.parent.name}/{photo.name}",
        "noise": noise,
        "target": round(task.noise, 4),
    }
    for name in ("clipped_after", "in_range"):
        started = time.process_time()
        relax = operator.relaxer(y[None], task.noise)
        projected = relax(z).clamp(0, 255) if name == "clipped_after" else relaxed_in_range(relax, z, 255)
        seconds = time.process_time() - started
        saved = projected.round()
        row[name] = {
            "saved_residual_rms": round(float((operator.A(saved) - y).square().mean().sqrt()), 4),
            "psnr_y": round(psnr_y(saved / 255, x[None] / 255, 7), 3),
            "projection_cpu_s": round(seconds, 2),
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=Path, nargs="*", default=IMAGES)
    parser.add_argument("--out", type=Path, default=RESULTS / "deblur-in-range.json")
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    model, _ = resolve(default_name("kernel", "deblurring"), "kernel")
    rows = []
    for photo in arguments.images:
        for noise in (0.0, 2.55):
            rows.append(measure(photo, noise, model) | {"load": os.getloadavg()[0]})
            print(json.dumps(rows[-1]), flush=True)
    result = {"script": "benchmarks/quality/deblur_in_range.py", "date": time.strftime("%Y-%m-%d %H:%M"),
              "commit": commit(), "kernel": KERNEL, "machine": machine(), "runs": rows}  # fmt: skip
    arguments.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
