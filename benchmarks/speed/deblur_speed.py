"""``srcli deblur`` of a BSD68 photo blurred by a 15-px motion kernel, at several sizes (issue 39): seconds in
all, of the network and of the projection, and the residual the record reports, for 0.1 to 1 megapixel.

    python benchmarks/speed/deblur_speed.py --out benchmarks/results/deblur-speed.json [--root TREE --commit C]
        [--megapixels 0.1 0.154 0.3 0.6 1.0]

The photo (481×321, or resized by bicubic to the size asked) is blurred with mirrored borders as
``srcli degrade`` blurs (:class:`srcli.maths.degradations.ReflectBlur`) and rounded; then the real command
runs in a process of its own (``--kernel motion:15,30``, noise 0, the shipped model). CPU seconds (user +
system, every thread) are counted beside the wall clock: on a machine shared with training runs the wall
clock says more about the load than about srcli, and the CPU seconds bound what two quiet cores would take.
``--root`` runs another tree's srcli on the same images (the tree before: ``git archive C | tar -x -C DIR``).

``--projection-only`` times the projection alone, in this process at one thread (CPU seconds): the operator's
``relaxed`` onto the blurred photo from a stand-in for the network's estimate (the photo plus seeded Gaussian
noise of 4 levels), at the noise level deblur relaxes to (the rounding's, 1/√12).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT, load, machine

PHOTO = ROOT.parent / "shared" / "data" / "bench" / "BSD68" / "101085.png"
KERNEL = "motion:15,30"


def blurred(photo: Path, megapixels: float, folder: Path) -> Path:
    """The photo resized to about ``megapixels`` (the photo itself where that is its size), blurred, rounded."""
    from srcli.io.degradation_spec import operator_for

    image = Image.open(photo).convert("RGB")
    factor = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
    if abs(factor - 1) > 0.02:
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.BICUBIC)
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1).to(torch.float64)[None]
    y = operator_for(KERNEL, 1, x.shape[-2], x.shape[-1]).A(x).round().clamp(0, 255)
    path = folder / f"blur-{image.width}x{image.height}.png"
    Image.fromarray(y[0].permute(1, 2, 0).to(torch.uint8).numpy()).save(path)
    return path


def run(root: Path, image: Path, timeout: float) -> dict[str, object]:
    """``srcli deblur IMAGE --kernel motion:15,30 --json -q`` with ``root``'s srcli: its record and its cost."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-m", "srcli", "deblur", str(image), "--kernel", KERNEL, "--json", "-q",
               "-o", str(image.with_name("out.png")), "--overwrite"]  # fmt: skip
    environment = dict(os.environ, PYTHONPATH=str(root))
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=timeout, cwd=root)
    except subprocess.TimeoutExpired:
        return {"timed_out_after_s": timeout}
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        return {"exit": done.returncode, "stderr": done.stderr.strip().splitlines()[-1:]}
    record = json.loads(done.stdout.splitlines()[-1])
    return {
        "wall_s": round(time.perf_counter() - started, 2),
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
        "network_s": record.get("network_seconds"),
        "projection_s": record.get("projection_seconds"),
        "residual_rms": record.get("residual_rms"),
        "noise": record.get("noise"),
    }


def projection_only(root: Path, megapixels: float) -> dict[str, object]:
    """CPU seconds of ``root``'s ``ReflectBlur.relaxed`` at about ``megapixels``, and the residual it leaves."""
    import math

    sys.path.insert(0, str(root))
    from srcli.io.degradation_spec import operator_for

    image = Image.open(PHOTO).convert("RGB")
    factor = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
    if abs(factor - 1) > 0.02:
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.BICUBIC)
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1).to(torch.float64)[None]
    operator = operator_for(KERNEL, 1, x.shape[-2], x.shape[-1])
    y = operator.A(x).round().clamp(0, 255)
    z = x + 4 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    started = time.process_time()
    out = operator.relaxed(z, y, 1 / math.sqrt(12))
    seconds = time.process_time() - started
    return {
        "size": [x.shape[-1], x.shape[-2]],
        "megapixels": round(x.shape[-1] * x.shape[-2] / 1e6, 4),
        "projection_cpu_s": round(seconds, 2),
        "cpu_s_per_megapixel": round(seconds / (x.shape[-1] * x.shape[-2] / 1e6), 1),
        "residual_rms": round(float((operator.A(out) - y).square().mean().sqrt()), 4),
        "load": load()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "deblur-speed.json")
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree whose srcli runs")
    parser.add_argument("--commit", default=None, help="the commit --root holds, where it is not a git checkout")
    parser.add_argument("--megapixels", type=float, nargs="+", default=[0.1, 0.154, 0.3, 0.6, 1.0])
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before a run is given up")
    parser.add_argument("--projection-only", action="store_true", help="time the projection alone, in process")
    arguments = parser.parse_args()
    commit = arguments.commit or subprocess.run(["git", "-C", str(arguments.root), "rev-parse", "--short", "HEAD"],
                                                capture_output=True, text=True).stdout.strip()  # fmt: skip
    rows = []
    if arguments.projection_only:
        torch.set_num_threads(1)
        for megapixels in arguments.megapixels:
            rows.append(projection_only(arguments.root, megapixels))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="srcli-deblur-speed-") as scratch:
        for megapixels in arguments.megapixels if not arguments.projection_only else []:
            image = blurred(PHOTO, megapixels, Path(scratch))
            width, height = Image.open(image).size
            before = load()[0]
            row = {"size": [width, height], "megapixels": round(width * height / 1e6, 4), "load_before": before}
            row |= run(arguments.root, image, arguments.timeout)
            row["load_after"] = load()[0]
            if "cpu_s" in row:
                row["cpu_s_per_megapixel"] = round(float(row["cpu_s"]) / row["megapixels"], 1)  # type: ignore[arg-type]
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    result = {
        "script": "benchmarks/speed/deblur_speed.py",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "commit": commit,
        "photo": PHOTO.name,
        "kernel": KERNEL,
        "what": "projection alone, 1 thread" if arguments.projection_only else "srcli deblur, default threads",
        "machine": machine() | {"torch": torch.__version__, "nice": os.nice(0)},
        "runs": rows,
    }
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
