"""What every benchmark records beside its numbers: the machine, its load, paired differences.

Imported by the scripts run from the repository root as ``python benchmarks/SCRIPT.py`` (their folder is
on ``sys.path``); a script in a subfolder puts ``benchmarks/`` on ``sys.path`` first.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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


def machine() -> dict[str, object]:
    """CPU model, core count, load averages (1, 5, 15 min) and the commit measured."""
    commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True, check=False)
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load": [round(x, 2) for x in os.getloadavg()],
        "commit": commit.stdout.strip() or None,
    }


def paired(differences: list[float], digits: int = 4) -> dict[str, float]:
    """Mean of per-image differences and its standard error (sample spread / √n; NaN for one image)."""
    mean = statistics.fmean(differences)
    spread = statistics.stdev(differences) if len(differences) > 1 else math.nan
    return {"mean": round(mean, digits), "standard_error": round(spread / math.sqrt(len(differences)), digits)}
