"""What running srcli's compact SR nets in bfloat16 costs in PSNR-Y, image by image, against float32.

    python benchmarks/speed/bf16_psnr.py --sets Set5 Set14 BSD68 --out benchmarks/results/bf16-psnr.json

Every shipped compact SR model runs untiled through srcli's engine (:func:`srcli.tasks.sr.upscale_picture`,
PD and exact quantisation included) twice per image, float32 and bfloat16 autocast (``RunOptions.cpu_bf16``),
on the protocol's box LRs (``shared/README.md``; ``compact-jpeg-x4`` too, on box LRs: the network's precision
is what is measured). Reported per model: the paired ``bf16 − fp32`` PSNR-Y difference with its standard error,
the share of output values that differ, and whether every output of both paths is exact (box means equal
to the LR). Needs a CPU that computes bfloat16 (``srcli.tasks.run.cpu_computes_bf16``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import BENCH, ROOT, emit, machine, paired

from srcli.checkpoints.load import load_model
from srcli.io.images import Picture
from srcli.io.testsets import image_files, protocol_pair
from srcli.maths.metrics import psnr_y
from srcli.tasks.check import box_consistency
from srcli.tasks.run import RunOptions, cpu_computes_bf16
from srcli.tasks.sr import runs_in_bf16, upscale_picture

MODELS = ("compact-x2", "compact-x3", "compact-x4", "compact-x8", "compact-bicubic-x2", "compact-bicubic-x4",
          "compact-jpeg-x4", "realistic-x4")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not cpu_computes_bf16():
        parser.error("this CPU has no native bfloat16 (AVX512-BF16 or AMX): nothing to measure")
    torch.set_num_threads(args.threads)
    fp32 = RunOptions(tile=0, cpu_bf16=False)
    bf16 = replace(fp32, cpu_bf16=True)
    results: dict[str, object] = {"machine": machine(), "threads": args.threads, "models": {}}
    for name in args.models:
        model, _ = load_model(ROOT / "weights" / f"{name}.safetensors", name)
        assert runs_in_bf16(model, bf16) and not runs_in_bf16(model, fp32)
        rows = []
        for set_name in args.sets:
            for path in image_files(BENCH / set_name):
                hr, lr = protocol_pair(path, model.scale)
                outs = [upscale_picture(Picture(lr[0], None, 8), model, options).color for options in (fp32, bf16)]
                scores = [psnr_y(out[None].double() / 255, hr.double() / 255, model.scale) for out in outs]
                rows.append({
                    "set": set_name, "image": path.name, "psnr_fp32": round(scores[0], 4),
                    "delta_db": round(scores[1] - scores[0], 5),
                    "values_differing": int((outs[0] != outs[1]).sum()), "values": outs[0].numel(),
                    "exact": all(box_consistency(out, lr[0], model.scale, 255).exact for out in outs),
                })  # fmt: skip
        summary = {
            "delta_db": paired([row["delta_db"] for row in rows], 5),
            "share_differing": round(sum(r["values_differing"] for r in rows) / sum(r["values"] for r in rows), 5),
            "exact": f"{sum(row['exact'] for row in rows)}/{len(rows)}",
        }
        print(name, json.dumps(summary), flush=True)
        results["models"][name] = {"summary": summary, "images": rows}  # type: ignore[index]
    emit(results, args.out)


if __name__ == "__main__":
    main()
