"""Timings of the shipped SR models on one device, fp32/fp16/bf16, eager and ``torch.compile``, written as JSON.

For every model, input side (256², 512² → ×scale) and precision: the bare network (one forward pass on a
channels-last batch of one) and the whole of :func:`srcli.tasks.sr.upscale_picture` (network, PD and exact
quantisation; untiled), eager first, then compiled (one compilation per shape, shared by both, its time recorded).
Every output is checked exactly consistent (its s×s means are the input: precision moves PSNR only) and compared
with the fp32 eager output of the same run: values that differ, largest difference in levels.

    python benchmarks/gpu/bench.py --device cuda --out DIR [--budget-s 240] [--models compact-x4,realistic-x4]
    python benchmarks/gpu/bench.py --dry-run --out DIR     # a tiny CPU version: 32² input, fp32 and bf16

Work that would start after ``--budget-s`` is recorded as skipped, so the JSON is always written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from srcli.checkpoints.manifest import load_manifest
from srcli.checkpoints.resolve import resolve
from srcli.io.images import Picture
from srcli.tasks.check import box_consistency
from srcli.tasks.run import RunOptions, Timings
from srcli.tasks.sr import upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT, commit, cpu_model, load

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class PrecisionOptions(RunOptions):
    """:class:`RunOptions` with any floating dtype for the network (RunOptions itself knows fp32 and fp16)."""

    precision: torch.dtype = torch.float32

    @property
    def dtype(self) -> torch.dtype:
        return self.precision


def machine(device: torch.device) -> dict[str, object]:
    record: dict[str, object] = {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "device": str(device),
        "commit": commit(),
        "loadavg_start": load(),
    }
    if device.type == "cuda":
        record["gpu"] = torch.cuda.get_device_name(device)
        record["cuda"] = torch.version.cuda
        record["bf16_supported"] = torch.cuda.is_bf16_supported()
    return record


def natural(side: int) -> Picture:
    """A ``side``×``side`` 8-bit RGB picture: the shipped example photo, tiled and cropped (natural content)."""
    from PIL import Image

    from srcli.io.images import pil_to_tensor

    image = pil_to_tensor(Image.open(ROOT / "examples" / "starfish.png").convert("RGB"))
    reps = (1, -(-side // image.shape[1]), -(-side // image.shape[2]))
    return Picture(image.repeat(reps)[:, :side, :side].contiguous(), None, 8)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_of(run: Any, repeats: int, device: torch.device) -> tuple[float, Any]:
    """Best wall time of ``repeats`` calls after one warm-up call (its time returned as well)."""
    sync(device)
    started = time.perf_counter()
    result = run()
    sync(device)
    first = time.perf_counter() - started
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        sync(device)
        best = min(best, time.perf_counter() - started)
    return best, (first, result)


def measure(
    model: Any, picture: Picture, device: torch.device, dtype: torch.dtype, compiled: bool, repeats: int
) -> tuple[dict[str, object], torch.Tensor]:
    """The bare network and upscale_picture for one configuration; the pipeline's output pixels."""
    options = PrecisionOptions(device=device, tile=0, precision=dtype)  # SRCLI_ACCELERATE=0: contiguous
    net = model.net.to(device, dtype, memory_format=options.memory_format)
    if compiled:
        net = torch.compile(net, dynamic=False)
    staged = replace(model, net=net)
    batch = (picture.color[None].to(device, dtype) / 255).contiguous(memory_format=options.memory_format)

    def bare() -> torch.Tensor:
        with torch.inference_mode():
            return net(batch)

    bare_seconds, (first_seconds, _) = best_of(bare, repeats, device)
    timings = Timings()

    def pipeline() -> Picture:
        timings.network = timings.projection = 0.0
        return upscale_picture(picture, staged, options, timings=timings)

    seconds, (_, output) = best_of(pipeline, repeats, device)
    megapixels = output.width * output.height / 1e6
    exact = box_consistency(output.channels(), picture.channels(), model.scale, picture.max_value).exact
    return {
        "exactly_consistent": exact,
        "first_call_seconds": round(first_seconds, 3),
        "network_seconds": round(bare_seconds, 4),
        "network_output_mp_per_s": round(megapixels / bare_seconds, 2),
        "upscale_picture_seconds": round(seconds, 4),
        "upscale_picture_output_mp_per_s": round(megapixels / seconds, 2),
        "last_run_network_seconds": round(timings.network, 4),
        "last_run_pd_exact_seconds": round(timings.projection, 4),
    }, output.color


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="cuda, cpu or auto (cuda where there is one)")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "benchmarks/gpu/out")))
    parser.add_argument("--budget-s", type=float, default=240.0, help="start no new measurement after this")
    parser.add_argument("--models", default="compact-x4,realistic-x4", help="comma-separated, or 'all' shipped SR")
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--precisions", default="fp32,fp16,bf16")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dry-run", action="store_true", help="tiny CPU version: 32², compact-x4, fp32+bf16")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.device, args.models, args.sizes, args.precisions = "cpu", "compact-x4", "32", "fp32,bf16"
        args.compile, args.repeats = False, 1
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(args.device)
    deadline = time.monotonic() + args.budget_s
    names = (
        [e.name for e in load_manifest() if e.task == "sr" and e.shipped]
        if args.models == "all"
        else args.models.split(",")
    )
    sizes = [int(s) for s in args.sizes.split(",")]
    precisions = args.precisions.split(",")
    results: list[dict[str, object]] = []
    record: dict[str, object] = {
        "machine": machine(device),
        "args": {k: str(v) for k, v in vars(args).items()},
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after every row: a run cut short by its caller's timeout keeps what it measured
        (args.out / "bench.json").write_text(json.dumps(record, indent=2) + "\n")

    references: dict[tuple[str, int], torch.Tensor] = {}
    for compiled in [False, True] if args.compile else [False]:  # every eager figure before any compilation
        for name in names:
            model = resolve(name, "sr")[0]
            for side in sizes:
                picture = natural(side)
                for precision in precisions:
                    row: dict[str, object] = {
                        "model": name, "side": side, "precision": precision,
                        "path": "torch.compile" if compiled else RunOptions().network_path,
                    }  # fmt: skip
                    if time.monotonic() > deadline:
                        results.append(row | {"skipped": "budget"})
                        continue
                    if precision == "fp16" and device.type == "cpu":
                        results.append(row | {"skipped": "fp16 convolutions are not worth timing on CPU"})
                        continue
                    try:
                        timing, pixels = measure(model, picture, device, PRECISIONS[precision], compiled, args.repeats)
                    except Exception as error:  # one failed configuration must not lose the rest
                        results.append(row | {"error": f"{type(error).__name__}: {str(error)[:300]}"})
                        continue
                    reference = references.setdefault((name, side), pixels)
                    difference = (pixels.int() - reference.int()).abs()
                    row |= timing | {
                        "values_differing_from_fp32_eager": int((difference > 0).sum()),
                        "max_level_difference_from_fp32_eager": int(difference.max()),
                        "loadavg": load(),
                    }
                    results.append(row)
                    print(json.dumps(row), flush=True)
                    save()
    record["machine"]["loadavg_end"] = load()  # type: ignore[index]
    save()
    return record


if __name__ == "__main__":
    main()
