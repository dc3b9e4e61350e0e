"""Whole processes over a folder of 512² JPEGs → ×4, in turns: ``srcli upscale DIR`` on the file's bins (the default
for JPEG input) against the same command with ``--degradation box`` (the pixel-exact path), both with
``compact-jpeg-x4`` so that only the projection differs.

    python benchmarks/jpeg/jpeg_batch_speed.py --qualities 40,75,90 --rounds 3 \\
        --out benchmarks/results/jpeg-batch-speed.json

The folder: 8 natural 512² photos (Set5 baby; Set14 bridge, lenna, man, pepper; the top-left 512² of barbara,
monarch and ppt3) saved by Pillow at each quality (4:2:0). A batch of files this size runs side by side, one file
per core (``srcli.tasks.pipeline``), as users' batches do. Reported per quality: each round's seconds for both
arms, the median ratio JPEG / pixel-exact, and whether every JPEG-path output reproduces its file (the records'
``jpeg_exact``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, machine, ratio_in_turns

PHOTOS = [
    ("Set5", "baby"),
    *(("Set14", name) for name in ("bridge", "lenna", "man", "pepper", "barbara", "monarch", "ppt3")),
]


def make_folder(root: Path, quality: int) -> Path:
    """The 8 photos' top-left 512² saved as JPEG at ``quality``."""
    folder = root / f"q{quality}"
    folder.mkdir()
    for set_name, name in PHOTOS:
        with Image.open(BENCH / set_name / f"{name}.png") as image:
            image.convert("RGB").crop((0, 0, 512, 512)).save(folder / f"{name}.jpg", quality=quality)
    return folder


def timed(command: list[str]) -> tuple[float, list[dict[str, object]]]:
    """Seconds of one whole process, and its JSON records; a process that fails stops the benchmark with what it
    printed (a crash's stack from ``faulthandler`` included)."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {done.returncode}:\n{done.stderr[-6000:]}")
    return seconds, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qualities", default="40,75,90")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    srcli = [sys.executable, "-m", "srcli", "upscale"]
    results: dict[str, object] = {"machine": machine(), "model": "compact-jpeg-x4", "qualities": {}}
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        for quality in map(int, args.qualities.split(",")):
            folder = make_folder(root, quality)
            model = ["--model", "compact-jpeg-x4"]
            arms = {
                "jpeg": [*srcli, str(folder), "-o", str(root / "jpeg"), *model],
                "box": [*srcli, str(folder), "-o", str(root / "box"), *model, "--degradation", "box"],
            }
            rounds, exact = [], []
            for _ in range(args.rounds):
                seconds = {}
                for arm, command in arms.items():
                    seconds[arm], records = timed([*command, "--json", "-q", "--overwrite"])
                    if arm == "jpeg":
                        exact.append(all(record.get("jpeg_exact") for record in records) and len(records) == 8)
                rounds.append(seconds)
            row = {**ratio_in_turns([(r["box"], r["jpeg"]) for r in rounds], ("box", "jpeg")),
                   "every_file_reproduced": all(exact)}  # fmt: skip
            results["qualities"][str(quality)] = row  # type: ignore[index]
            print(f"q{quality}", json.dumps(row), flush=True)
    results["machine_after"] = machine()
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
