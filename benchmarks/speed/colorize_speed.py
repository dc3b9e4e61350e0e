"""How long ``srcli colorize`` takes on a 1-megapixel photo, per model, on this machine's CPU.

    python benchmarks/speed/colorize_speed.py weights/colornet.safetensors weights/colorunet.safetensors \
        --out benchmarks/results/colorize-speed.json

The photo is a BSD68 picture resized (Lanczos) to 1224×816 and made gray; each model colorizes it
``--repeats`` times through the command line (a fresh process each time, as a user runs it), on
``--threads`` CPU threads. Reports the process's wall time (start-up and model load included) and
the seconds the record gives for the file itself, the best and the median of the repeats, with the
machine's load average before and after (other jobs share the CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT, load, machine

PHOTO = ROOT.parent / "shared" / "data" / "bench" / "BSD68" / "101087.png"
SIZE = (1224, 816)


def run_once(model: Path, image: Path, target: Path, threads: int) -> tuple[float, float]:
    """Wall seconds of one ``srcli colorize`` process and the seconds its record gives."""
    command = [sys.executable, "-m", "srcli", "colorize", str(image), "-o", str(target), "--model", str(model)]
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run([*command, "--json", "-q", "--overwrite"], capture_output=True, text=True, env=environment)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(done.stderr)
    return wall, float(json.loads(done.stdout)["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    record: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "threads": args.threads,
        "size": list(SIZE),
    }
    with tempfile.TemporaryDirectory() as folder:
        image = Path(folder) / "gray.png"
        with Image.open(PHOTO) as photo:
            photo.convert("L").resize(SIZE, Image.Resampling.LANCZOS).save(image)
        for model in args.models:
            runs = [run_once(model, image, Path(folder) / "out.png", args.threads) for _ in range(args.repeats)]
            walls, files = [wall for wall, _ in runs], [seconds for _, seconds in runs]
            record[model.stem] = {
                "wall_seconds_best": round(min(walls), 2),
                "wall_seconds_median": round(statistics.median(walls), 2),
                "file_seconds_best": round(min(files), 2),
                "file_seconds_median": round(statistics.median(files), 2),
            }
    record["load_after"] = load()
    text = json.dumps(record, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
