"""How OpenMP's idle threads wait (``OMP_WAIT_POLICY``, ``GOMP_SPINCOUNT``): two-thread CPU work, quiet and loaded.

libgomp (torch's OpenMP on Linux) lets a thread that reaches the end of a parallel region spin before it sleeps.
While another process holds a core, the spinning thread takes the time slice its partner needs to finish the
region, so every small operator can wait for the scheduler. Each measurement is a fresh process (the policy is
read once, when libgomp starts) timing ``restore``-level work at 2 threads: colorization of a 256² photo,
``compact-x4`` 256² and 512² → ×4 through ``upscale_picture`` (PD and exact included). Policies alternate within
each round; ``--busy N`` runs N spinning processes beside them (the load of a shared machine, made on purpose).

    python benchmarks/speed/omp_wait_policy.py [--rounds 3] [--busy 0] [--out benchmarks/results/omp-wait-policy.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import TRAIN, emit, machine

POLICIES: dict[str, dict[str, str]] = {
    "default": {},
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    "spin 10k": {"GOMP_SPINCOUNT": "10000"},
    "spin 100k": {"GOMP_SPINCOUNT": "100000"},
}
"""The environments compared: libgomp's default (spin up to 300k turns, then sleep), passive (sleep at once), and
spin counts between (``GOMP_SPINCOUNT``)."""

CHILD = """
import json, sys, time
import torch
from PIL import Image
from srcli.checkpoints.resolve import resolve
from srcli.io.images import Picture, pil_to_tensor
from srcli.tasks.colorize import colorize_gray, colorize_model
from srcli.tasks.run import RunOptions, Timings
from srcli.tasks.sr import upscale_picture

torch.set_num_threads(2)
photo = Image.open(sys.argv[1]).convert("RGB")
def picture(side):
    return Picture(pil_to_tensor(photo.resize((side, side), Image.Resampling.BICUBIC)), None, 8)
options = RunOptions()
sr = resolve("compact-x4", "sr")[0]
color = colorize_model(None)
gray = picture(256).color.float().mean(0, keepdim=True).round()
work = {
    "colorize 256": lambda: colorize_gray(gray, 255, color, "mean", options, None, Timings()),
    "compact-x4 256": lambda: upscale_picture(picture(256), sr, options),
    "compact-x4 512": lambda: upscale_picture(picture(512), sr, options),
}
best = {}
for name, run in work.items():
    run()
    times = []
    for _ in range(int(sys.argv[2])):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    best[name] = min(times)
print(json.dumps(best))
"""


def measure(policy: dict[str, str], repeats: int) -> dict[str, float]:
    """One fresh process's best seconds per workload with the environment ``policy``."""
    env = {key: value for key, value in os.environ.items() if key not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(policy)
    photo = str(TRAIN / "12003.jpg")
    done = subprocess.run([sys.executable, "-c", CHILD, photo, str(repeats)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr.strip().splitlines()[-1])
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per workload in each process (best kept)")
    parser.add_argument("--busy", type=int, default=0, help="spinning processes run beside the measurements")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        before = machine()
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in POLICIES}
        for round_ in range(args.rounds):
            for name, policy in POLICIES.items():
                runs[name].append(measure(policy, args.repeats))
                print(round_, name, runs[name][-1], file=sys.stderr, flush=True)
        after = machine()
    finally:
        for spinner in spinners:
            spinner.kill()
    workloads = list(runs["default"][0])
    medians = {
        name: {w: round(statistics.median(r[w] for r in rows), 4) for w in workloads} for name, rows in runs.items()
    }
    emit(
        {
            "what": __doc__.splitlines()[0],
            "date": time.strftime("%Y-%m-%d"),
            "busy_processes": args.busy,
            "threads": 2,
            "machine": before,
            "machine_after": after,
            "median_of_best_seconds": medians,
            "over_default": {
                name: {w: round(medians[name][w] / medians["default"][w], 3) for w in workloads} for name in POLICIES
            },
            "rounds": runs,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
