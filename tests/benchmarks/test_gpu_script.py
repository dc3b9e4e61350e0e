"""The prepared GPU script runs its help and a tiny CPU dry run (the real run needs a lent CUDA machine)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu" / "run_all.sh"


def test_run_all_is_valid_bash_and_answers_help() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    done = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True, check=True)
    assert "--dry-run" in done.stdout and "--budget-s" in done.stdout
    refused = subprocess.run(["bash", str(SCRIPT), "--nonsense"], capture_output=True, text=True)
    assert refused.returncode == 2


def test_bench_dry_run_times_a_tiny_upscale_on_cpu(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gpu_bench", ROOT / "benchmarks" / "gpu" / "bench.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["gpu_bench"] = bench  # dataclasses look their module up
    spec.loader.exec_module(bench)
    record = bench.main(["--dry-run", "--out", str(tmp_path)])
    rows = record["results"]
    assert [(r["precision"], r["path"]) for r in rows] == [
        ("fp32", "eager channels_last"),
        ("bf16", "eager channels_last"),
    ]
    assert all("upscale_picture_seconds" in r and "error" not in r for r in rows)
    assert all(r["exactly_consistent"] for r in rows) and rows[0]["values_differing_from_fp32_eager"] == 0
    assert (tmp_path / "bench.json").is_file()
