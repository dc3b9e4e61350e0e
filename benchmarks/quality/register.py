"""Measure a trained checkpoint on the benchmark sets and record it in weights/manifest.json.

    python benchmarks/quality/register.py weights/compact-x4.safetensors --name compact-x4 --default
    python benchmarks/quality/register.py weights/realistic-x4.safetensors --name realistic-x4 --realistic compact-x4

Reads the training command, steps and time from the checkpoint's header (written by
``srcli train``), computes sha256 and size, runs the ``shared/README.md`` protocol on Set5,
Set14 and BSD68, and writes the manifest entry plus benchmarks/results/quality-NAME.json.
``--realistic PSNR`` registers an adversarially trained model: never a default, reached by
``--realism``, blended with the PSNR model named; its metrics add NIQE and detail energy.
A model trained on bicubic LR (``train sr --degradation bicubic``, its header says so) is measured
on that LR instead (Pillow's resize, projected as ``upscale --degradation bicubic`` does) and
registered with ``"degradation": "bicubic"``: a default beside the box one of its scale, not in its place.
A model trained on JPEG-coded LR (``train sr --jpeg-quality``) is registered from ``benchmarks/jpeg/jpeg_input.py``'s
results (``--jpeg-results FILE``: PSNR-Y on the JPEG path beside the pixel-exact one, per set and quality) with
``"degradation": "jpeg"``: the default for JPEG inputs of its scale.
A kernel-conditioned model (``srcli train usrnet``) is registered from ``quality/usrnet_bench.py``'s results instead
(``--kernel-results FILE ...``: each file's per-case summaries of ``usrnet`` beside its baselines); as the default
it is what ``srcli deblur`` runs.

    python benchmarks/quality/register.py weights/usrnet-tiny.safetensors --name usrnet-tiny --default \
        --kernel-results benchmarks/results/usrnet-tiny-{sr-x4,deblur}.jsonl
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
from degradation_bicubic import bicubic_pd
from entries import model_entry, write_entry
from PIL import Image

from srcli.checkpoints.load import load_model
from srcli.io.images import pil_to_tensor
from srcli.io.testsets import image_files
from srcli.maths.metrics import psnr_y
from srcli.tasks.bench import bench_folder, bicubic_upscale
from srcli.tasks.run import RunOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, ROOT

SETS = ("Set5", "Set14", "BSD68")


def bicubic_lr_metrics(folder: Path, model, scale: int) -> dict[str, object]:
    """PSNR-Y of ``model`` under bicubic PD on Pillow-bicubic LR (HR cropped to a multiple of the scale,
    ``scale`` border pixels cropped) beside Pillow's bicubic upscale of that LR; exact outputs are those
    whose Pillow resize gives every LR value back."""
    scores, baseline, exact = [], [], 0
    for path in image_files(folder):
        with Image.open(path) as image:
            hr = image.convert("RGB")
        hr = hr.crop((0, 0, hr.width // scale * scale, hr.height // scale * scale))
        y = pil_to_tensor(hr.resize((hr.width // scale, hr.height // scale), Image.Resampling.BICUBIC))
        truth = pil_to_tensor(hr).unsqueeze(0).double() / 255
        _, saved, off, _, _ = bicubic_pd(model, y.to(torch.int64), scale)
        scores.append(psnr_y(saved.unsqueeze(0).double() / 255, truth, scale))
        baseline.append(psnr_y(bicubic_upscale(y.unsqueeze(0), scale).double() / 255, truth, scale))
        exact += off == 0
    return {
        "psnr_y": round(sum(scores) / len(scores), 3),
        "bicubic_psnr_y": round(sum(baseline) / len(baseline), 3),
        "exact_outputs": f"{exact}/{len(scores)}",
        "lr": "bicubic",
    }


def kernel_metrics(paths: list[Path]) -> dict[str, dict]:
    """Per set, per case of ``usrnet_bench.py`` (``x4 gaussian:1.6 noise 2.55``; ``x1 all noise None``: a suite's
    mean over its kernels): the model's PSNR-Y and each baseline's, and the paired gains with standard errors."""
    metrics: dict[str, dict] = {}
    for path in paths:
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        sets = metrics.setdefault(lines[0]["set"], {})  # image rows name their set; summaries do not
        rows = [line for line in lines if line.get("summary")]
        for row in rows:
            if row["method"] != "usrnet":
                continue
            case = f"x{row['scale']} {row['kernel']} noise {row['noise']}"
            baselines = {
                f"{other['method']}_psnr_y": other["psnr_y"]
                for other in rows
                if (other["scale"], other["kernel"], other["noise"]) == (row["scale"], row["kernel"], row["noise"])
                and not other["method"].startswith("usrnet")
            }
            gains = {key: value for key, value in row.items() if key.startswith("gain_over_")}
            sets[case] = {"images": row["images"], "psnr_y": row["psnr_y"], **baselines, **gains}
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--default", action="store_true", help="the default model for its task and scale")
    parser.add_argument("--realistic", metavar="PSNR", help="a realistic model, blended with this PSNR model")
    parser.add_argument("--kernel-results", type=Path, nargs="+", help="usrnet_bench.py results (a kernel model)")
    parser.add_argument("--jpeg-results", type=Path, help="jpeg/jpeg_input.py results (a model for JPEG inputs)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, header = load_model(args.weights, args.name)  # with the correction it was trained through
    net = model.net
    degradation = header.get("degradation", "box")
    if header.get("task") == "kernel":
        if not args.kernel_results:
            parser.error("a kernel-conditioned model is registered from usrnet_bench.py results: --kernel-results")
        results = kernel_metrics(args.kernel_results)
        metrics = results
    elif degradation == "jpeg":
        if not args.jpeg_results:
            parser.error("a model for JPEG inputs is registered from jpeg/jpeg_input.py results: --jpeg-results")
        results = json.loads(args.jpeg_results.read_text())["summary"]
        metrics = {}
        for key, r in results.items():  # "BSD68@40": one set at one JPEG quality
            name, quality = key.split("@")
            metrics.setdefault(name, {})[f"jpeg_q{quality}"] = {
                "psnr_y": round(r["psnr_y_jpeg"], 3),
                "box_path_psnr_y": round(r["psnr_y_box"], 3),
                "gain_db": round(r["gain_db"], 3),
                "gain_se_db": round(r["gain_se_db"], 3),
                "grid_32": round(r["grid_jpeg"], 3),
                "coefficients_min": round(r["coefficients_min"], 6),
                "files_all_coefficients": f"{r['files_exact']}/{r['images']}",
            }
    elif degradation == "bicubic":
        results: dict[str, dict] = {name: bicubic_lr_metrics(BENCH / name, model, net.scale) for name in SETS}
        metrics: dict[str, dict] = results
    elif degradation == "box":
        results = {name: bench_folder(BENCH / name, [model], RunOptions()).as_json() for name in SETS}
        metrics = {
            name: {
                "psnr_y": r["psnr_y"],
                "ssim_y": r["ssim_y"],
                "bicubic_psnr_y": r["bicubic_psnr_y"],
                "exact_outputs": f"{r['exact_outputs']}/{r['images']}",
            }
            | ({"niqe": r["niqe"], "hr_niqe": r["hr_niqe"], "detail": r["detail"]} if args.realistic else {})
            for name, r in results.items()
        }
    else:
        raise SystemExit(f"register.py measures box, bicubic and JPEG models; this one was trained on {degradation}")
    fields: dict[str, object] = {"task": header.get("task", "sr"), "scale": model.scale}
    if degradation != "box":
        fields["degradation"] = degradation
    if args.realistic:
        if args.default:
            parser.error("a realistic model is never a default: it is reached by --realism")
        fields |= {"realistic": True, "psnr_model": args.realistic}
    entry = model_entry(args.name, args.weights, net, header, args.default, metrics, **fields)
    write_entry(
        entry,
        lambda m: (m["task"], m["scale"], m.get("degradation", "box")) == (entry["task"], entry["scale"], degradation),
    )
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {args.threads} threads",
        "model": args.name,
        "scale": fields["scale"],
        "results": results,
    }
    out = ROOT / "benchmarks" / "results" / f"quality-{args.name}.json"
    out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
