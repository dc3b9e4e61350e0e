"""The benchmarks' shared harness: one shape of paired differences, one stamp."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import harness


def test_paired_gives_the_mean_and_its_standard_error():
    result = harness.paired([1.0, 2.0, 3.0, 6.0], digits=3)
    assert result == {"mean": 3.0, "standard_error": round(math.sqrt(14 / 3) / 2, 3)}


def test_paired_has_no_standard_error_from_one_image():
    assert harness.paired([0.5]) == {"mean": 0.5, "standard_error": None}


def test_machine_stamps_the_cpu_the_load_and_the_commit():
    stamp = harness.machine()
    assert set(stamp) == {"cpu", "cores", "load", "commit"}
    assert len(stamp["load"]) == 3 and str(stamp["commit"]).split("+")[0] != ""
    assert harness.ROOT.parent / "shared" / "data" / "bench" == harness.BENCH


@pytest.mark.skipif(not harness.BENCH.joinpath("Set5").is_dir(), reason="no shared benchmark data here")
def test_bench_files_lists_a_set_in_order():
    assert [p.name for p in harness.bench_files("Set5", 2)] == sorted(p.name for p in harness.bench_files("Set5"))[:2]


def test_ratio_in_turns_takes_the_median_of_the_rounds_ratios():
    row = harness.ratio_in_turns([(1.0, 1.5), (2.0, 2.2), (1.0, 1.3)], ("box", "jpeg"))
    assert row == {"ratio": 1.3, "ratios": [1.5, 1.1, 1.3], "seconds_box_jpeg": [[1.0, 1.5], [2.0, 2.2], [1.0, 1.3]]}
