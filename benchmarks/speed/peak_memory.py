"""Peak memory of `srcli upscale` on a 2000×1500 photo, ×4, CPU (DESIGN target: ≤ 1.5 GB).

Makes the input from a training photo (bicubic-resized to 2000×1500), runs the CLI in a child
process and reads the child's peak resident set size. Usage:

    python benchmarks/speed/peak_memory.py [--model NAME|PATH] [--tile N] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT

PHOTO = ROOT.parent / "shared" / "data" / "train" / "CBSD432" / "12003.jpg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--tile", default=None)
    parser.add_argument("--threads", default="2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "photo.png"
        Image.open(PHOTO).convert("RGB").resize((2000, 1500), Image.Resampling.BICUBIC).save(source)
        command = [
            sys.executable,
            "-m",
            "srcli",
            "upscale",
            str(source),
            "--scale",
            "4",
            "--device",
            "cpu",
            "--json",
            "-q",
            "-o",
            str(Path(folder) / "out.png"),
        ]
        command += ["--model", args.model] if args.model else []
        command += ["--tile", args.tile] if args.tile else []
        started = time.perf_counter()
        result = subprocess.run(
            command, capture_output=True, text=True, check=True, env={"OMP_NUM_THREADS": args.threads, "PATH": ""}
        )
        seconds = time.perf_counter() - started
    record = json.loads(result.stdout)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, threads={args.threads}",
                "input": "2000×1500 RGB",
                "output": record["output_size"],
                "model": record["model"],
                "tile": record["tile"],
                "peak_rss_mib": round(peak_mib, 1),
                "seconds": round(seconds, 1),
                "network_seconds": record["network_seconds"],
                "projection_seconds": record["projection_seconds"],
                "consistency_exact": record["consistency_exact"],
            }
        )
    )


if __name__ == "__main__":
    main()
