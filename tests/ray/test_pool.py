"""The actors a Ray batch asks for: a GPU each where the cluster has them, else the CPUs shared out."""

from __future__ import annotations

import pytest

from srcli.errors import OptionError
from srcli.tasks.run import RunOptions

pytest.importorskip("ray", reason="the Ray engine needs srcli[ray] (pip install 'srcli[ray]')")

from srcli.tasks.raybatch import Pool, RayBatch, plan_pool


def batch(device: str = "auto", workers: int | None = None, half: bool = False) -> RayBatch:
    return RayBatch(lambda options: None, RunOptions(half=half), device, False, False, workers)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(
    ("device", "workers", "resources", "node_cpus", "pool"),
    [
        ("auto", None, {"CPU": 16, "GPU": 4}, 8, Pool(4, 1.0, 1)),  # one worker per GPU
        ("cuda", 2, {"CPU": 16, "GPU": 4}, 8, Pool(2, 1.0, 1)),
        ("cpu", None, {"CPU": 16, "GPU": 4}, 8, Pool(16, 1.0, 0)),  # cpu asked for: the GPUs are left alone
        ("auto", None, {"CPU": 2}, 2, Pool(2, 1.0, 0)),  # one worker per CPU
        ("auto", 1, {"CPU": 2}, 2, Pool(1, 2.0, 0)),  # one worker holds both CPUs (torch runs 2 threads)
        ("auto", 2, {"CPU": 16}, 4, Pool(2, 4.0, 0)),  # no more than one machine has
        ("mps", 3, {"CPU": 8}, 8, Pool(3, 2.0, 0)),
    ],
)
def test_the_pool_fits_the_cluster(device, workers, resources, node_cpus, pool):
    assert plan_pool(batch(device, workers), resources, node_cpus, files=100) == pool


def test_never_more_workers_than_files():
    assert plan_pool(batch(workers=2), {"CPU": 2}, 2, files=1) == Pool(1, 2.0, 0)
    assert plan_pool(batch(), {"CPU": 8, "GPU": 4}, 8, files=3) == Pool(3, 1.0, 1)


@pytest.mark.parametrize(
    ("settings", "resources", "message"),
    [
        (dict(device="cuda"), {"CPU": 8}, "device cuda was asked for, but the Ray cluster has no GPU"),
        (dict(half=True), {"CPU": 8}, "half precision needs a CUDA device, and the Ray cluster has no GPU"),
        (dict(workers=3), {"CPU": 8, "GPU": 2}, "3 workers of one GPU each, but the Ray cluster has 2 GPU(s)"),
        (dict(workers=3), {"CPU": 2}, "3 workers of one CPU at least, but the Ray cluster has 2 CPU(s)"),
    ],
)
def test_a_pool_the_cluster_cannot_hold_is_one_line(settings, resources, message):
    with pytest.raises(OptionError) as refused:
        plan_pool(batch(**settings), resources, 8, files=100)
    assert str(refused.value) == message
