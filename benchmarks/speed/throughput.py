"""CPU speed of the shipped SR models, measured in one process, written as JSON.

* throughput, 256×256 → ×s, for every shipped SR model (DESIGN target for the default ×4:
  at least Real-ESRGAN compact through ncnn on the same 2 cores, 1.74 output MP/s);
* the cost of PD + exact quantisation against the network alone, 512×512 → ×4, same run,
  untiled and with the automatic tile size;
* tiled against untiled: time and the largest difference in levels;
* throughput by tile size.

``--throughput-only`` measures the first item for every shipped model of every task (colorization, CS
reconstruction from a sample at the model's ratio, deblurring ``gaussian:1.6`` with noise 2.55 at ×1),
through each task's own ``restore``, and stops there.

    python benchmarks/speed/throughput.py [--threads 2] [--repeats 3] > benchmarks/results/speed.json
    python benchmarks/speed/throughput.py --throughput-only > benchmarks/results/speed-all-models.json

Inputs are crops of a training photo (shared/data/train), so the content is natural.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from srcli.checkpoints.manifest import load_manifest
from srcli.checkpoints.resolve import resolve
from srcli.io.images import Picture, pil_to_tensor
from srcli.tasks.run import RunOptions, Timings
from srcli.tasks.sr import upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import TRAIN, machine

PHOTO = TRAIN / "12003.jpg"


def photo(side: int) -> Picture:
    """A ``side``×``side`` natural RGB picture (a training photo, bicubic-resized)."""
    image = Image.open(PHOTO).convert("RGB").resize((side, side), Image.Resampling.BICUBIC)
    return Picture(pil_to_tensor(image), None, 8)


def timed(picture: Picture, model, options: RunOptions, repeats: int) -> tuple[float, Timings, Picture]:
    """Best wall time of ``repeats`` runs after one warm-up run (oneDNN builds its kernels for
    each new shape on first use), with the network/projection split of that run."""
    upscale_picture(picture, model, options)
    best, best_timings, output = float("inf"), Timings(), picture
    for _ in range(repeats):
        timings = Timings()
        started = time.perf_counter()
        output = upscale_picture(picture, model, options, timings=timings)
        elapsed = time.perf_counter() - started
        if elapsed < best:
            best, best_timings = elapsed, timings
    return best, best_timings, output


def task_for(entry, folder: Path, source: Path):
    """The file task that runs ``entry`` (a shipped model of another task than SR) and the item it reads."""
    from srcli.tasks.colorize import colorize_task
    from srcli.tasks.cs import Reconstruct, sample_file
    from srcli.tasks.usrnet import deblur_task

    if entry.task == "colorize":
        task = colorize_task(entry.name, "mean", RunOptions())
    elif entry.task == "cs":
        measured = folder / f"{entry.name}.cs.safetensors"
        sample_file(source, measured, entry.ratio, 0, True)
        task, source = Reconstruct(entry.name, RunOptions()), measured
    else:
        task = deblur_task(resolve(entry.name, "kernel")[0], RunOptions(), "gaussian:1.6", 2.55)
    return task, task.read(str(source))


def timed_task(task, item, repeats: int) -> float:
    """Best wall time of ``task.restore`` over ``repeats`` runs after one warm-up run."""
    task.restore(item, Timings(), None)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        task.restore(item, Timings(), None)
        best = min(best, time.perf_counter() - started)
    return best


def overhead(name: str, timings: Timings) -> dict[str, object]:
    """PD + exact quantisation time against the network's, from one run."""
    return {
        "model": name,
        "network_seconds": round(timings.network, 3),
        "pd_exact_seconds": round(timings.projection, 3),
        "ratio": round(timings.projection / timings.network, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--throughput-only", action="store_true", help="every shipped model's throughput, no more")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    record: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"),
        "threads": args.threads,
        "machine": machine(),
        "torch": torch.__version__,
    }
    throughput = {}
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "photo.png"
        Image.open(PHOTO).convert("RGB").resize((256, 256), Image.Resampling.BICUBIC).save(source)
        for entry in load_manifest():
            if not entry.shipped or (entry.task != "sr" and not args.throughput_only):
                continue
            if entry.task == "sr":
                model = resolve(entry.name, "sr")[0]
                seconds, timings, out = timed(photo(256), model, RunOptions(), args.repeats)
                pixels = out.width * out.height
            else:
                task, item = task_for(entry, Path(scratch), source)
                seconds, pixels = timed_task(task, item, args.repeats), 256 * 256
            throughput[entry.name] = {
                "task": entry.task,
                "seconds": round(seconds, 3),
                "output_mp_per_s": round(pixels / 1e6 / seconds, 3),
            }
            print(entry.name, throughput[entry.name], file=sys.stderr, flush=True)
    record["throughput_256_cpu"] = throughput
    if args.throughput_only:
        record["machine_after"] = machine()
        print(json.dumps(record, indent=2))
        return

    default = next(e for e in load_manifest() if e.task == "sr" and e.scale == 4 and e.default)
    model = resolve(default.name, "sr")[0]
    picture = photo(512)
    seconds, timings, untiled = timed(picture, model, RunOptions(tile=0), args.repeats)
    record["pd_overhead_512_x4"] = overhead(default.name, timings)
    _, auto_timings, _ = timed(picture, model, RunOptions(), args.repeats)
    record["pd_overhead_512_x4_auto_tile"] = overhead(default.name, auto_timings) | {"tile": auto_timings.tiles[0]}
    by_tile = {}
    for tile in (64, 128, 256, 512):
        tiled_seconds, _, tiled = timed(picture, model, RunOptions(tile=tile), args.repeats)
        difference = (tiled.color.int() - untiled.color.int()).abs().max().item()
        by_tile[str(tile)] = {
            "seconds": round(tiled_seconds, 3),
            "output_mp_per_s": round(tiled.width * tiled.height / 1e6 / tiled_seconds, 3),
            "max_abs_difference_vs_untiled": difference,
        }
    record["untiled_512_x4_seconds"] = round(seconds, 3)
    record["tiles_512_x4"] = by_tile
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
