"""PD against no PD: both convergence curves on one plot, and the step each first reaches a PSNR.

    python benchmarks/ablation_plot.py runs/ablation-pd runs/ablation-nopd --threshold 29.5 \
        --out benchmarks/results/pd-ablation

Reads each run folder's log.csv (written by ``srcli train``); writes OUT.png and OUT.json.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from srcli.train.plot import line_chart


def curve(run: Path) -> list[tuple[float, float]]:
    with (run / "log.csv").open(newline="") as handle:
        return [(float(r["step"]), float(r["val_psnr_y"])) for r in csv.DictReader(handle) if r["val_psnr_y"] != "nan"]


def first_step_at(points: list[tuple[float, float]], threshold: float) -> float | None:
    return next((step for step, value in points if value >= threshold), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--threshold", type=float, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    series = [(run.name, curve(run)) for run in args.runs]
    line_chart(series, args.out.with_suffix(".png"), "validation PSNR-Y (Set5)", "step", "PSNR-Y (dB)")
    summary = {
        name: {
            "first_step_at_threshold": first_step_at(points, args.threshold),
            "final_psnr_y": points[-1][1] if points else None,
        }
        for name, points in series
    }
    args.out.with_suffix(".json").write_text(json.dumps({"threshold_db": args.threshold, "runs": summary}, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
