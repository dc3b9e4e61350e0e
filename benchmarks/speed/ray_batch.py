"""Throughput of `srcli upscale --ray` with 1 and 2 workers against the local batch, and Ray's fixed cost.

Makes N inputs (centre crops of the first N CBSD432 photos), then runs the engines in turns (the local
batch with torch's own threads, with one thread, and with OMP_WAIT_POLICY=PASSIVE; Ray with one worker
of 2 CPUs and with two of one), each
as the command a user types (a child process, `--json -q`), for several rounds in one run: the machine's
speed drifts between runs, so only ratios within a round mean much. Each record is timed as its line
arrives on stdout: the time to the first record is the engine's fixed cost (process, imports, model,
and for Ray the cluster and the actors' start), the pace between the first and the last record is
its throughput, and the time after the last record is its exit (Ray's shutdown). Every output must be
exact and byte-identical across the engines.

On a machine with more runnable threads than cores, torch's OpenMP threads lose most of their time
spinning at barriers while their partner is descheduled: the local batch's own 2 threads then run
several times slower than one thread, while a Ray worker runs the model off its main thread, where
this does not happen. The one-thread and passive local batches are the fair baselines there. Usage:

    python benchmarks/speed/ray_batch.py [--files 24] [--side 96] [--scale 2] [--rounds 2] [--out FILE.json]
    python benchmarks/speed/ray_batch.py --thread-check [--out FILE.json]

``--thread-check`` times the model alone on the same inputs in this process, in turns in its main thread
and in a Python thread (torch's own thread count both times), to see whether the thread matters.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT, TRAIN, machine
from harness import load as load_average

PHOTOS = TRAIN
ENGINES: dict[str, tuple[list[str], dict[str, str]]] = {
    "local": ([], {}),  # torch's own thread count: one per core
    "local-1-thread": ([], {"OMP_NUM_THREADS": "1"}),
    "local-passive": ([], {"OMP_WAIT_POLICY": "PASSIVE"}),  # 2 threads that sleep, not spin, at each barrier
    "ray-1": (["--ray", "--workers", "1"], {}),  # one worker holding both CPUs (2 threads)
    "ray-2": (["--ray", "--workers", "2"], {}),  # two workers of one CPU (1 thread each)
}
"""Each engine's flags and environment."""


def make_inputs(folder: Path, files: int, side: int) -> None:
    folder.mkdir()
    for photo in sorted(PHOTOS.iterdir())[:files]:
        image = Image.open(photo).convert("RGB")
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image.crop((left, top, left + side, top + side)).save(folder / f"{photo.stem}.png")


def run(engine: str, inputs: Path, out: Path, scale: int) -> dict[str, object]:
    """One batch of ``engine``, timed line by line from the child's start."""
    command = [sys.executable, "-m", "srcli", "upscale", str(inputs), "--scale", str(scale), "--device", "cpu"]
    flags, environment = ENGINES[engine]
    command += ["-o", str(out), "--json", "-q", *flags]
    started = time.perf_counter()
    env = {**os.environ, **environment, "PYTHONPATH": str(ROOT)}  # this tree's srcli, in the child and Ray's workers
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    arrivals, records = [], []
    assert child.stdout is not None
    for line in child.stdout:
        arrivals.append(time.perf_counter() - started)
        records.append(json.loads(line))
    stderr = child.stderr.read() if child.stderr else ""
    code = child.wait()
    wall = time.perf_counter() - started
    if code != 0 or not all(r["error"] is None and r["consistency_exact"] for r in records):
        raise SystemExit(f"{engine} failed (exit {code}): {stderr.strip()[-2000:]}")
    files = len(records)
    return {
        "engine": engine,
        "files": files,
        "wall_seconds": round(wall, 2),
        "first_record_seconds": round(arrivals[0], 2),
        "last_record_seconds": round(arrivals[-1], 2),
        "exit_after_last_seconds": round(wall - arrivals[-1], 2),
        "files_per_second": round((files - 1) / (arrivals[-1] - arrivals[0]), 3),
        "mean_file_seconds": round(statistics.fmean(r["seconds"] for r in records), 3),
        "outputs": digest(out),
    }


def digest(out: Path) -> str:
    """One hash of every output file's name and bytes."""
    total = hashlib.sha256()
    for path in sorted(out.iterdir()):
        total.update(path.name.encode() + path.read_bytes())
    return total.hexdigest()[:16]


def load() -> dict[str, object]:
    """What else the machine was doing: its load average and the `srcli train` runs going."""
    trainings = 0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"srcli\x00train" in (entry / "cmdline").read_bytes():
                trainings += 1
        except OSError:
            continue
    return {"load_average_1min": load_average()[0], "srcli_train_processes": trainings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--side", type=int, default=96)
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="write the results here as JSON")
    parser.add_argument("--thread-check", action="store_true", help="only time the model in and off the main thread")
    args = parser.parse_args()
    if args.thread_check:
        result = thread_check(args.files, args.side, args.scale, args.rounds)
        text = json.dumps(result, indent=2, ensure_ascii=False)
        if args.out:
            args.out.write_text(text + "\n")
        print(text)
        return
    rounds = []
    with tempfile.TemporaryDirectory() as folder:
        inputs = Path(folder) / "in"
        make_inputs(inputs, args.files, args.side)
        for index in range(args.rounds):
            order = list(ENGINES) if index % 2 == 0 else list(reversed(ENGINES))
            runs = {}
            before = load()
            for engine in order:
                out = Path(folder) / f"out-{index}-{engine}"
                runs[engine] = run(engine, inputs, out, args.scale)
                print(json.dumps({"round": index, **runs[engine]}), file=sys.stderr)
            if len({r["outputs"] for r in runs.values()}) != 1:
                raise SystemExit(f"round {index}: the engines' outputs differ")
            rounds.append({"order": order, "load_before": before, "load_after": load(), "runs": runs})
    summary = summarise(rounds)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "python": platform.python_version(),
        "inputs": f"{args.files} centre crops {args.side}×{args.side} of CBSD432 photos, ×{args.scale}, CPU",
        "rounds": rounds,
        "summary": summary,
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n")
    print(json.dumps(summary, indent=2, ensure_ascii=False))


def thread_check(files: int, side: int, scale: int, rounds: int) -> dict[str, object]:
    """Median seconds per file of ``upscale_picture`` on the inputs, in the main thread and in a Python
    thread, in turns for ``rounds`` rounds (one warm-up file first)."""
    import threading

    import torch

    from srcli.checkpoints.resolve import sr_stages
    from srcli.io.images import read_picture
    from srcli.tasks.run import RunOptions
    from srcli.tasks.sr import upscale_picture

    model = sr_stages(None, scale)[0]
    with tempfile.TemporaryDirectory() as folder:
        make_inputs(Path(folder) / "in", files, side)
        pictures = [read_picture(path) for path in sorted((Path(folder) / "in").iterdir())]
    upscale_picture(pictures[0], model, RunOptions())
    seconds: dict[str, list[float]] = {"main thread": [], "python thread": []}

    def time_all(where: str) -> None:
        for picture in pictures:
            started = time.perf_counter()
            upscale_picture(picture, model, RunOptions())
            seconds[where].append(time.perf_counter() - started)

    for _ in range(rounds):
        time_all("main thread")
        worker = threading.Thread(target=time_all, args=("python thread",))
        worker.start()
        worker.join()
    return {
        "date": time.strftime("%Y-%m-%d"),
        "torch_threads": torch.get_num_threads(),
        "inputs": f"{files} centre crops {side}×{side} of CBSD432 photos, ×{scale} ({model.name}), CPU",
        "load": load(),
        "machine": machine(),
        "median_seconds_per_file": {where: round(statistics.median(v), 3) for where, v in seconds.items()},
    }


def summarise(rounds: list[dict]) -> dict[str, object]:
    """Per Ray engine against each local batch, within each round: the throughput ratio, the extra fixed
    cost (time to the first record, and exit after the last), and the batch size from which Ray is faster
    in all (None where its throughput is not higher)."""
    summary: dict[str, object] = {}
    baselines = ("local", "local-1-thread", "local-passive")
    for engine, baseline in [(e, b) for e in ("ray-1", "ray-2") for b in baselines]:
        ratios, starts, exits, break_even = [], [], [], []
        for entry in rounds:
            local, ray = entry["runs"][baseline], entry["runs"][engine]
            ratios.append(ray["files_per_second"] / local["files_per_second"])
            extra = (ray["first_record_seconds"] - local["first_record_seconds"]) + (
                ray["exit_after_last_seconds"] - local["exit_after_last_seconds"]
            )
            starts.append(ray["first_record_seconds"] - local["first_record_seconds"])
            exits.append(ray["exit_after_last_seconds"] - local["exit_after_last_seconds"])
            saved = 1 / local["files_per_second"] - 1 / ray["files_per_second"]
            break_even.append(round(extra / saved) if saved > 0 else None)
        summary[f"{engine} / {baseline}"] = {
            "throughput_ratio": [round(r, 3) for r in ratios],
            "throughput_ratio_mean": round(statistics.fmean(ratios), 3),
            "extra_start_seconds": [round(s, 1) for s in starts],
            "extra_exit_seconds": [round(s, 1) for s in exits],
            "files_to_break_even": break_even,
        }
    return summary


if __name__ == "__main__":
    main()
