"""Every output of a realistic model is exact: RGB, gray, alpha and 16-bit, tiled and whole, at every --realism.

    python benchmarks/realism/realistic_exactness.py --model weights/realistic-x4.safetensors [--images 4]

Inputs: the first ``--images`` BSD68 photos, box-reduced ×4 (LR as the benchmarks use), written as RGB,
L, RGBA (alpha a diagonal ramp) and 16-bit RGB and L (the 8-bit values × 257 plus a seeded ±128 jitter,
so the low byte matters). Each kind × ``--realism`` 0, 0.25, 0.5, 0.75, 1 × ``--tile`` 0 (whole) and 32
is one ``srcli upscale FOLDER -o FOLDER --json`` process. Exactness is checked here, not taken from the
report: 8-bit outputs are reduced band by band with Pillow's ``Image.reduce`` (RGBA too: Pillow's reduce
of a whole RGBA image premultiplies alpha, srcli's operator is the per-channel box mean), 16-bit ones
by the float64 mean of each s×s block; both must equal the input exactly. Writes
``results/realistic-exactness.json``: per case, the files, how many are exact here and by srcli's report.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from srcli.io.images import Picture, pil_to_tensor, read_picture, write_picture
from srcli.io.testsets import protocol_pair

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT, bench_files

SCALE = 4
REALISMS = (0.0, 0.25, 0.5, 0.75, 1.0)
TILES = (0, 32)


def kinds(lr: torch.Tensor, generator: torch.Generator) -> dict[str, Picture]:
    """The five pictures made from one ``(3, h, w)`` uint8 LR."""
    gray = pil_to_tensor(Image.fromarray(lr.permute(1, 2, 0).numpy()).convert("L"))
    height, width = lr.shape[1:]
    ramp = (torch.arange(height).view(-1, 1) + torch.arange(width)) * 255 // max(height + width - 2, 1)
    wide = lr.to(torch.int32) * 257 + torch.randint(-128, 129, lr.shape, generator=generator, dtype=torch.int32)
    wide = wide.clamp(0, 65535)
    return {
        "RGB": Picture(lr, None, 8),
        "L": Picture(gray, None, 8),
        "RGBA": Picture(lr, ramp.to(torch.uint8)[None], 8),
        "RGB16": Picture(wide, None, 16),
        "L16": Picture(wide[:1], None, 16),
    }


def exact(output: Path, source: Picture) -> bool:
    """The saved file's s×s box means are the input's pixels (see the module's docstring)."""
    picture = read_picture(output)
    if picture.bit_depth != source.bit_depth or picture.channels().shape[0] != source.channels().shape[0]:
        return False
    if picture.bit_depth == 8:
        with Image.open(output) as image:
            bands = [pil_to_tensor(band.reduce(SCALE)) for band in image.split()]
        return torch.equal(torch.cat(bands), source.channels())
    means = F.avg_pool2d(picture.channels().double()[None], SCALE)[0]
    return torch.equal(means, source.channels().double())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the realistic ×4 model (name or path)")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "realistic-exactness.json")
    args = parser.parse_args()
    generator = torch.Generator().manual_seed(0)
    cases, sources = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        folders = {}
        for path in bench_files("BSD68", args.images):
            lr = protocol_pair(path, SCALE)[1][0]
            for kind, picture in kinds(lr, generator).items():
                folder = folders.setdefault(kind, Path(scratch) / "in" / kind)
                folder.mkdir(parents=True, exist_ok=True)
                write_picture(picture, folder / f"{path.stem}.png", overwrite=False)
                sources[(kind, path.stem)] = picture
        for kind, folder in folders.items():
            for realism in REALISMS:
                for tile in TILES:
                    out = Path(scratch) / "out" / f"{kind}-{realism}-{tile}"
                    command = [sys.executable, "-m", "srcli", "upscale", str(folder), "-o", f"{out}/",
                               "--model", args.model, "--realism", str(realism), "--tile", str(tile),
                               "--json", "-q"]  # fmt: skip
                    done = subprocess.run(command, capture_output=True, text=True, check=True)
                    records = [json.loads(line) for line in done.stdout.splitlines()]
                    checked = [exact(Path(r["output"]), sources[(kind, Path(r["input"]).stem)]) for r in records]
                    case = {"kind": kind, "realism": realism, "tile": tile, "files": len(records),
                            "exact_here": sum(checked),
                            "exact_reported": sum(r["consistency_exact"] is True for r in records)}  # fmt: skip
                    cases.append(case)
                    print(json.dumps(case), flush=True)
    total = {key: sum(c[key] for c in cases) for key in ("files", "exact_here", "exact_reported")}
    result = {"model": args.model, "scale": SCALE, "images": args.images, "cases": cases, "total": total}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(total))


if __name__ == "__main__":
    main()
