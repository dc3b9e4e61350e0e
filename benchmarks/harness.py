"""What every benchmark shares: where the data is, the images a set is evaluated on, paired differences with
standard errors, the best time of a few calls, and the stamp of the commit and the machine's load its record carries.

The scripts live in folders by purpose and are run from the repository root as
``python benchmarks/FOLDER/SCRIPT.py``; each puts ``benchmarks/`` on ``sys.path`` first::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
    from harness import BENCH, machine, paired
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The repository."""
SHARED = ROOT.parent / "shared" / "data"
"""The data beside the repository (``shared/README.md``): ``bench/`` (Set5, Set14, BSD68) and ``train/``."""
BENCH = SHARED / "bench"
TRAIN = SHARED / "train" / "CBSD432"
RESULTS = ROOT / "benchmarks" / "results"


def bench_files(name: str, limit: int | None = None) -> list[Path]:
    """The images of benchmark set ``name`` (a folder of :data:`BENCH`), sorted, the first ``limit`` of them."""
    from srcli.io.testsets import image_files

    return image_files(BENCH / name)[:limit]


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else the platform's processor string."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def commit() -> str:
    """HEAD of the repository, ``+dirty`` when ``srcli/`` differs from it (the code imported is not the commit's)."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "srcli"], capture_output=True, text=True, check=False)
    return (head or "unknown") + ("+dirty" if dirty.stdout.strip() else "")


def load() -> list[float]:
    """The load averages over 1, 5 and 15 minutes (a shared machine's speed follows them)."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, object]:
    """The stamp of a record: CPU model, core count, load averages (1, 5, 15 min) and the commit measured."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "load": load(), "commit": commit()}


def paired(differences: list[float], digits: int = 4) -> dict[str, float | None]:
    """Mean of per-image differences and its standard error (sample spread / √n; None for one image)."""
    mean = statistics.fmean(differences)
    if len(differences) < 2:
        return {"mean": round(mean, digits), "standard_error": None}
    spread = statistics.stdev(differences)
    return {"mean": round(mean, digits), "standard_error": round(spread / math.sqrt(len(differences)), digits)}


def ratio_in_turns(rounds: list[tuple[float, float]], names: tuple[str, str]) -> dict[str, object]:
    """Rounds of ``(first, second)`` seconds measured in turns: the median of the rounds' ratios second / first,
    each round's ratio and its seconds (``seconds_FIRST_SECOND``), to the millisecond."""
    ratios = [second / first for first, second in rounds]
    return {
        "ratio": round(statistics.median(ratios), 3),
        "ratios": [round(ratio, 3) for ratio in ratios],
        f"seconds_{names[0]}_{names[1]}": [[round(first, 3), round(second, 3)] for first, second in rounds],
    }


def best_of(rounds: int, work: Callable[[], object]) -> float:
    """The shortest wall time, in seconds, of ``rounds`` calls of ``work`` (a warm-up, if wanted, is the caller's)."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def emit(results: dict[str, object], out: Path | None) -> None:
    """A record as indented JSON: into ``out`` where given, else on stdout."""
    text = json.dumps(results, indent=1)
    if out:
        out.write_text(text + "\n")
    else:
        print(text)
