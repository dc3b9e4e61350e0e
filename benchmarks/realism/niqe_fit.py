"""Fit NIQE's pristine model from the CBSD432 training photos and write it to weights/.

    python benchmarks/realism/niqe_fit.py [--data ../shared/data/train/CBSD432] \
        [--out weights/niqe-pristine.safetensors]

Every photo's BT.601 luma is cut into 96×96 patches (cropped at the right and bottom); the patches
whose mean local deviation is at least 0.75 of the photo's sharpest patch's are kept (Mittal et al.
2013, §III); the mean and covariance of their 36 features are the model. Writes the model, its
provenance beside it (``niqe-pristine.json``) and, as a check, the mean NIQE of the benchmark sets'
HR photos under it to ``benchmarks/results/niqe-fit.json``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from srcli.checkpoints.hub import sha256_of
from srcli.checkpoints.pristine import save_pristine
from srcli.io.images import pil_to_tensor
from srcli.io.testsets import image_files
from srcli.maths.niqe import PATCH, SHARPNESS_THRESHOLD, image_features, luma, model_of, niqe, sharpest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT

SHARED = ROOT.parent / "shared" / "data"


def photo(path: Path) -> torch.Tensor:
    """``(1, 3, H, W)`` float in [0, 1]."""
    with Image.open(path) as image:
        return pil_to_tensor(image.convert("RGB")).unsqueeze(0).float() / 255


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "train" / "CBSD432")
    parser.add_argument("--out", type=Path, default=ROOT / "weights" / "niqe-pristine.safetensors")
    parser.add_argument("--threshold", type=float, default=SHARPNESS_THRESHOLD)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    files = image_files(args.data)
    selected, total = [], 0
    for path in files:
        features, sharpness = image_features(luma(photo(path)))
        total += len(features)
        selected.append(sharpest(features, sharpness, args.threshold))
    model = model_of(torch.cat(selected))
    seconds = time.perf_counter() - started
    command = "python benchmarks/realism/niqe_fit.py " + shlex.join(sys.argv[1:])
    metadata = {
        "data": args.data.name,
        "images": str(len(files)),
        "patch": str(PATCH),
        "sharpness_threshold": str(args.threshold),
        "luma": "BT.601 Y in [16, 235]",
        "command": command.strip(),
    }
    save_pristine(args.out, model, metadata)
    provenance = {
        "file": args.out.name,
        "what": "NIQE pristine model (Mittal, Soundararajan, Bovik 2013): mean (36,) and covariance (36, 36) "
        "of 96x96 patch features; statistics, not a network",
        "sha256": sha256_of(args.out),
        "size": args.out.stat().st_size,
        "data": args.data.name,
        "images": len(files),
        "patches_total": total,
        "patches_selected": model.patches,
        "sharpness_threshold": args.threshold,
        "luma": metadata["luma"],
        "command": metadata["command"],
        "date": time.strftime("%Y-%m-%d"),
        "seconds": round(seconds, 1),
        "note": "Scores are not comparable with MATLAB's NIQE: its published model was fitted from 125 other "
        "photos (and on rgb2gray luma); this one from the CBSD432 training photos (JPEG).",
    }
    args.out.with_suffix(".json").write_text(json.dumps(provenance, indent=2) + "\n")
    check = {}
    for name in ("Set5", "Set14", "BSD68"):
        scores = [niqe(photo(path), model) for path in image_files(SHARED / "bench" / name)]
        usable = [score for score in scores if score == score]
        check[name] = {"images": len(scores), "scored": len(usable), "hr_niqe": round(sum(usable) / len(usable), 3)}
    record = {**provenance, "hr_niqe_under_this_model": check}
    (ROOT / "benchmarks" / "results" / "niqe-fit.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
