"""Gaussian-blurred LR, ×4 (issue 26): how consistent the output of ``srcli upscale --degradation gaussian:1.6``
is with a clean input (float and saved), and with a noisy one (``--noise 5``) the residual the saved file leaves
against the input and PSNR-Y, for the ways it could project; image by image.

    python benchmarks/quality/degradation_gaussian.py --out benchmarks/results/degradation-gaussian-x4.jsonl
    python benchmarks/quality/degradation_gaussian.py --clean \
        --out benchmarks/results/degradation-gaussian-x4-clean.jsonl

Protocol: HR cropped to a multiple of 4, LR by ``srcli degrade -s 4 --downsampler gaussian:1.6 --noise 5``
(the float degradation with mirrored borders plus seeded Gaussian noise, seed = image index, rounded half up),
the shipped ``compact-x4``, PSNR-Y with 4 border pixels cropped. Methods:

* ``relaxed``: the network on the noisy LR, relaxed onto it at the noise level (``z + Aᵀ(AAᵀ + α)⁻¹(y − Az)``,
  the discrepancy principle; what srcli did before 2026-12-02);
* ``denoised-1``: the network on the denoised LR ``ŷ`` (:func:`srcli.maths.denoise.denoise`), projected onto ``ŷ``;
* ``denoised``: the same projected onto ``y − κ(y − ŷ)``, ``κ`` bringing the residual to the noise level (srcli's).

Each row: PSNR-Y and the saved file's residual root mean square against the input (levels). A summary per set
gives the means, ``residual / σ``'s range and the paired differences with their standard errors. With
``--clean`` (no noise) each row gives instead the consistency PSNR of the float projection and of the saved
file (the LR of the saved file by the float degradation, against the input) and the LR values its rounded
degradation misses; the summary their minima.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import srcli.tasks.sr_degraded as degraded
from srcli.checkpoints.resolve import resolve
from srcli.io.degradation_spec import downsample_float, downsample_rounded, operator_for
from srcli.io.images import Picture
from srcli.maths.metrics import consistency_psnr, psnr_y
from srcli.tasks.degrade import noisy
from srcli.tasks.run import RunOptions, Timings
from srcli.tasks.sr_degraded import UpscaleDegraded, estimate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import bench_files, paired

SCALE, SPEC = 4, "gaussian:1.6"


@dataclass(frozen=True)
class Relaxed(UpscaleDegraded):
    """The projection before denoising came in: the network on the noisy LR, relaxed to the noise level."""

    @property
    def denoises(self) -> bool:
        return False


def _tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)


def score(path: Path, index: int, model, noise: float) -> list[dict[str, object]]:
    """One image's rows, one per method."""
    with Image.open(path) as opened:
        rgb = opened.convert("RGB")
    hr = _tensor(rgb.crop((0, 0, rgb.width - rgb.width % SCALE, rgb.height - rgb.height % SCALE)))
    lr = noisy(downsample_rounded(hr, SCALE, SPEC, 8), hr, 3, SCALE, SPEC, noise, index, 255)
    picture = Picture(color=lr.to(torch.uint8), alpha=None, bit_depth=8)
    truth = hr.double().unsqueeze(0) / 255
    relaxed, denoised = Relaxed([model], RunOptions(), SPEC, noise), UpscaleDegraded([model], RunOptions(), SPEC, noise)
    rows = []
    for name, cap in (("relaxed", None), ("denoised-1", 1.0), ("denoised", None)):
        task = relaxed if name == "relaxed" else denoised
        saved_cap = degraded.MAX_RESIDUAL_SCALE
        degraded.MAX_RESIDUAL_SCALE = cap if cap is not None else saved_cap
        try:
            out = task.restore(picture, Timings(), None).color
        finally:
            degraded.MAX_RESIDUAL_SCALE = saved_cap
        residual = downsample_float(out, SCALE, SPEC) - lr.double()
        rows.append({
            "image": path.name, "noise": noise, "method": name,
            "psnr_y": round(psnr_y(out.double().unsqueeze(0) / 255, truth, SCALE), 4),
            "residual_rms": round(float(residual.square().mean().sqrt()), 4),
        })  # fmt: skip
    return rows


def clean_row(path: Path, model) -> dict[str, object]:
    """One image's consistency without noise: float projection, saved file, LR values off."""
    with Image.open(path) as opened:
        rgb = opened.convert("RGB")
    hr = _tensor(rgb.crop((0, 0, rgb.width - rgb.width % SCALE, rgb.height - rgb.height % SCALE)))
    lr = downsample_rounded(hr, SCALE, SPEC, 8)
    picture = Picture(color=lr.to(torch.uint8), alpha=None, bit_depth=8)
    y = lr.double()
    z = estimate(picture, [model], RunOptions(), Timings(), None)
    operator = operator_for(SPEC, SCALE, hr.shape[1], hr.shape[2])
    floats = operator.project(z.unsqueeze(0), y.unsqueeze(0))[0]
    task = UpscaleDegraded([model], RunOptions(), SPEC)
    saved = task.restore(picture, Timings(), None).color
    reference = task._reference(operator, 8)
    truth = hr.double().unsqueeze(0) / 255
    return {
        "image": path.name,
        "float_consistency_db": round(consistency_psnr(operator.A(floats.unsqueeze(0))[0], y, 255), 2),
        "saved_consistency_db": round(consistency_psnr(downsample_float(saved, SCALE, SPEC), y, 255), 2),
        "lr_values_off": int((reference(saved) != lr.to(torch.int64)).sum()),
        "lr_values": lr.numel(),
        "psnr_y": round(psnr_y(saved.double().unsqueeze(0) / 255, truth, SCALE), 4),
    }


def summary(name: str, rows: list[dict[str, object]], noise: float) -> dict[str, object]:
    def of(method: str, key: str) -> list[float]:
        return [float(r[key]) for r in rows if r["method"] == method]  # type: ignore[arg-type]

    result: dict[str, object] = {"set": name, "images": len(of("relaxed", "psnr_y")), "noise": noise}
    for method in ("relaxed", "denoised-1", "denoised"):
        ratios = [value / noise for value in of(method, "residual_rms")]
        result[method] = {
            "psnr_y": round(sum(of(method, "psnr_y")) / len(ratios), 3),
            "residual_over_noise": [round(min(ratios), 3), round(max(ratios), 3)],
        }
    for method in ("denoised-1", "denoised"):
        differences = [a - b for a, b in zip(of(method, "psnr_y"), of("relaxed", "psnr_y"), strict=True)]
        result[f"{method}_minus_relaxed_db"] = list(paired(differences, 3).values())
    differences = [a - b for a, b in zip(of("denoised", "psnr_y"), of("denoised-1", "psnr_y"), strict=True)]
    result["denoised_minus_denoised-1_db"] = list(paired(differences, 3).values())
    return result


def clean_summary(name: str, rows: list[dict[str, object]]) -> dict[str, object]:
    def lowest(key: str) -> float:
        return min(float(r[key]) for r in rows)  # type: ignore[arg-type]

    return {
        "set": name, "images": len(rows), "float_consistency_db_min": lowest("float_consistency_db"),
        "saved_consistency_db_min": lowest("saved_consistency_db"),
        "lr_values_off": sum(int(r["lr_values_off"]) for r in rows),  # type: ignore[call-overload]
        "lr_values": sum(int(r["lr_values"]) for r in rows),  # type: ignore[call-overload]
        "psnr_y": round(sum(float(r["psnr_y"]) for r in rows) / len(rows), 3),  # type: ignore[arg-type]
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["Set5", "BSD68"])
    parser.add_argument("--noise", type=float, default=5.0)
    parser.add_argument("--clean", action="store_true", help="no noise: the consistency of the output")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, _ = resolve(f"compact-x{SCALE}", "sr")
    with args.out.open("w") as out:
        for name in args.sets:
            rows = []
            for index, path in enumerate(bench_files(name)):
                for row in [clean_row(path, model)] if args.clean else score(path, index, model, args.noise):
                    rows.append(row)
                    out.write(json.dumps({"set": name, **row}) + "\n")
                out.flush()
            line = clean_summary(name, rows) if args.clean else summary(name, rows, args.noise)
            out.write(json.dumps({"summary": line}) + "\n")
            print(json.dumps(line))


if __name__ == "__main__":
    main()
