"""USRNet's must-shows on BSD68, image by image, beside the baselines: bicubic, the shipped compact nets
under the degradation's projection, and Wiener deconvolution with the true kernel.

    python benchmarks/quality/usrnet_bench.py --suite sr-x4 --out benchmarks/results/usrnet-sr-x4-baselines.jsonl
    python benchmarks/quality/usrnet_bench.py --suite deblur --out benchmarks/results/usrnet-deblur-baselines.jsonl
    python benchmarks/quality/usrnet_bench.py --suite scales --model runs/usrnet.safetensors --label usrnet \\
        --out benchmarks/results/usrnet-scales.jsonl

Suites (cases of scale, degradation spec, noise in levels):

* ``sr-x4``: ×4, ``gaussian:1.6`` (srcli's separable Gaussian of σ 1.6 HR pixels), noise 2.55.
* ``deblur``: ×1, each of 8 motion kernels (:func:`srcli.train.kernels.trajectory_kernel`, 25×25, seeds 0–7,
  written once to ``results/usrnet-motion-kernels/motion-N.npy`` and read from there: the kernels are recorded),
  noise 2.55.
* ``scales``: ×1, ×2, ×3, ×4, each with ``gaussian:1.6``, ``gaussian:2.0,0.8,30``, ``motion-0.npy`` and
  ``bicubic`` (the identity at ×1: denoising alone), noise 0 and 2.55 (``--noises``).

Protocol: HR = the BSD68 image as RGB, cropped to a multiple of the scale; LR as ``srcli degrade`` makes it
(mirrored borders, the float degradation plus seeded Gaussian noise, seed = image index, rounded half up,
clipped to 8 bits); PSNR-Y (BT.601) of the 8-bit result with ``s`` border pixels cropped for SR and the
kernel's radius (12) for deblurring. Methods: ``bicubic`` (Pillow's ×s resize of the LR), ``compact``
(``srcli upscale --model compact-xS --degradation SPEC --noise σ``: the shipped box-trained net, its estimate
projected under the degradation), ``wiener-oracle`` (per image the best of 17 noise-to-signal ratios from 1e-4
to 1, chosen with the ground truth: the strongest linear deconvolution with the true kernel), ``wiener``
(the ratio σ² / (var(y) − σ²), no ground truth), ``usrnet`` (``srcli upscale --model M`` / ``srcli deblur``:
projected and rounded as saved) and ``usrnet-bare`` (the network alone, rounded). One JSON line per image and
method, then per case and method a summary: the mean and, against each baseline, the paired mean difference
with its standard error.

USRNet's published Table 1 (BSD68, 12 kernels, ×2/×3/×4, noise 0/2.55/7.65 levels) differs: circular blur,
the top-left pixel of each block kept, float LR (no rounding), PSNR on RGB with s² border pixels cropped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from srcli.archs.usrnet import kernel_spectrum
from srcli.checkpoints.resolve import resolve
from srcli.io.degradation_spec import degradation_kernel, downsample_rounded
from srcli.io.images import Picture, pil_to_tensor, tensor_to_pil
from srcli.maths.metrics import psnr_y
from srcli.tasks.degrade import noisy
from srcli.tasks.run import RunOptions, Timings
from srcli.tasks.sr_degraded import UpscaleDegraded
from srcli.tasks.usrnet import UpscaleUnfolded, deblur_task
from srcli.train.kernels import trajectory_kernel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT, bench_files, paired

KERNELS = ROOT / "benchmarks" / "results" / "usrnet-motion-kernels"
WIENER_RATIOS = [10.0 ** (-4 + 0.25 * i) for i in range(17)]
BASELINES = ("bicubic", "compact", "wiener-oracle", "wiener")


def motion_kernel_files(count: int = 8, size: int = 25) -> list[Path]:
    """The recorded motion kernels (written on first use from seeds 0..count-1, then only read)."""
    KERNELS.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(count):
        path = KERNELS / f"motion-{seed}.npy"
        if not path.exists():
            np.save(path, trajectory_kernel(torch.Generator().manual_seed(seed), size).numpy())
        paths.append(path)
    return paths


def suite(name: str, noises: list[float]) -> list[tuple[int, str, float]]:
    if name == "sr-x4":
        return [(4, "gaussian:1.6", 2.55)]
    if name == "deblur":
        return [(1, str(path), 2.55) for path in motion_kernel_files()]
    motion = str(motion_kernel_files()[0])
    specs = ["gaussian:1.6", "gaussian:2.0,0.8,30", motion, "bicubic"]
    return [(scale, spec, noise) for scale in (1, 2, 3, 4) for spec in specs for noise in noises]


def wiener(blurred: torch.Tensor, kernel: torch.Tensor, ratio: float) -> torch.Tensor:
    """Wiener deconvolution ``conj(K) / (|K|² + ratio)`` of ``blurred`` ``(3, H, W)`` (levels) by ``kernel``,
    on the image mirrored by the kernel's reach (as the blur was made), cropped back."""
    margin = max(kernel.shape) // 2 + 1
    padded = F.pad(blurred[None].double(), (margin,) * 4, mode="reflect")
    spectrum = kernel_spectrum(kernel.double()[None, None], padded.shape[-2], padded.shape[-1])
    restored = torch.fft.ifft2(torch.fft.fft2(padded) * spectrum.conj() / (spectrum.abs().square() + ratio)).real
    return restored[0, :, margin:-margin, margin:-margin]


def picture(channels: torch.Tensor) -> Picture:
    return Picture(color=channels.to(torch.uint8), alpha=None, bit_depth=8)


def run_case(path: Path, index: int, case: tuple[int, str, float], methods: dict, usrnet) -> list[dict]:
    scale, spec, noise = case
    with Image.open(path) as opened:
        rgb = opened.convert("RGB")
    hr = pil_to_tensor(rgb.crop((0, 0, rgb.width - rgb.width % scale, rgb.height - rgb.height % scale)))
    kernel = degradation_kernel(spec, scale)
    border = scale if scale > 1 else max(max(kernel.shape) // 2, 1)
    lr = downsample_rounded(hr, scale, spec, 8)
    if noise > 0:
        lr = noisy(lr, hr, 3, scale, spec, noise, index, 255)
    truth = hr.double().unsqueeze(0) / 255
    rows = []

    def score(name: str, make) -> None:
        started = time.perf_counter()
        out = make()
        seconds = time.perf_counter() - started
        value = psnr_y(out.double().clamp(0, 255).round().unsqueeze(0) / 255, truth, border)
        rows.append({"image": path.stem, "scale": scale, "kernel": Path(spec).name, "noise": noise, "method": name,
                     "psnr_y": round(value, 4), "seconds": round(seconds, 3)})  # fmt: skip

    options = RunOptions()
    if scale > 1:
        score("bicubic", lambda: pil_to_tensor(tensor_to_pil(lr.to(torch.uint8)).resize(
            (lr.shape[2] * scale, lr.shape[1] * scale), Image.Resampling.BICUBIC)))  # fmt: skip
        if scale in methods:
            task = UpscaleDegraded([methods[scale]], options, spec, noise)
            score("compact", lambda: task.restore(picture(lr), Timings(), None).color)
    elif kernel.numel() > 1:  # a blur to undo (bicubic at ×1 is the identity: denoising alone)
        variance = float(lr.double().var())
        ratio = noise**2 / max(variance - noise**2, 1.0)
        score("wiener", lambda: wiener(lr.double(), kernel, ratio))
        best = max(WIENER_RATIOS, key=lambda r: psnr_y(wiener(lr.double(), kernel, r).clamp(0, 255).round()
                                                          .unsqueeze(0) / 255, truth, border))  # fmt: skip
        score("wiener-oracle", lambda: wiener(lr.double(), kernel, best))
        rows[-1]["ratio"] = best
    if usrnet is not None:
        for name, pd in (("usrnet", True), ("usrnet-bare", False)):
            run = RunOptions(pd=pd)
            task = deblur_task(usrnet, run, spec, noise) if scale == 1 else UpscaleUnfolded(
                [usrnet], run, spec, noise, factor=scale, network_noise=noise)  # fmt: skip
            score(name, lambda task=task: task.restore(picture(lr), Timings(), None).color)
    return rows


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def summarise(rows: list[dict], label: str) -> list[dict]:
    """Per case and method, then per scale and method over all its cases (``kernel`` ``all``, ``noise`` None):
    each image's mean over the cases; a gain over a baseline is each image's mean over the cases both have
    (bicubic at ×1 has no Wiener), so the standard errors stay paired image by image."""
    out = []
    cases = sorted({(r["scale"], r["kernel"], r["noise"]) for r in rows})
    groups = [(case, [r for r in rows if (r["scale"], r["kernel"], r["noise"]) == case]) for case in cases]
    for scale in sorted({case[0] for case in cases}):
        if sum(case[0] == scale for case in cases) > 1:
            groups.append(((scale, "all", None), [r for r in rows if r["scale"] == scale]))
    for (scale, kernel, noise), here in groups:
        scores: dict[str, dict[str, dict[tuple, float]]] = {}  # method → image → case → PSNR-Y
        for row in here:
            case = (row["kernel"], row["noise"])
            scores.setdefault(row["method"], {}).setdefault(row["image"], {})[case] = row["psnr_y"]
        for method, images in scores.items():
            summary = {"summary": True, "label": label, "scale": scale, "kernel": kernel, "noise": noise,
                       "method": method, "images": len(images),
                       "psnr_y": round(_mean([_mean(list(c.values())) for c in images.values()]), 3)}  # fmt: skip
            if method.startswith("usrnet"):
                for baseline in (b for b in BASELINES if b in scores):
                    gains = []
                    for image, own in images.items():
                        other = scores[baseline][image]
                        shared = [case for case in own if case in other]
                        gains.append(_mean([own[case] - other[case] for case in shared]))
                    gain = paired(gains, 3)
                    summary[f"gain_over_{baseline}_db"] = gain["mean"]
                    summary[f"gain_over_{baseline}_se_db"] = gain["standard_error"]
            out.append(summary)
    return out


def resummarise(path: Path) -> None:
    """Rewrite the summary lines of a results file from its image lines (after a change to :func:`summarise`)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if '"summary"' not in line]
    label = rows[0]["label"]
    lines = [json.dumps(row) for row in rows] + [json.dumps(summary) for summary in summarise(rows, label)]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=["sr-x4", "deblur", "scales"])
    parser.add_argument("--model", help="a USRNet checkpoint (without: the baselines alone)")
    parser.add_argument("--label", default="baselines", help="what the records call this run (smoke, ...)")
    parser.add_argument("--set", default="BSD68")
    parser.add_argument("--images", type=int, help="the first N images only")
    parser.add_argument("--noises", type=float, nargs="+", default=[0.0, 2.55])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resummarise", action="store_true", help="only rewrite --out's summary lines")
    args = parser.parse_args()
    if args.resummarise:
        resummarise(args.out)
        return
    torch.set_num_threads(args.threads)
    compact = {scale: resolve(f"compact-x{scale}", "sr")[0] for scale in (2, 4)}
    usrnet = resolve(args.model, "kernel")[0] if args.model else None
    files = bench_files(args.set, args.images)
    cases = suite(args.suite, args.noises)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with args.out.open("w") as handle:
        for case in cases:
            for index, path in enumerate(files):
                for row in run_case(path, index, case, compact, usrnet):
                    row = {"label": args.label, "set": args.set, **row}
                    rows.append(row)
                    handle.write(json.dumps(row) + "\n")
                handle.flush()
        for summary in summarise(rows, args.label):
            handle.write(json.dumps(summary) + "\n")
            print(json.dumps(summary))


if __name__ == "__main__":
    main()
