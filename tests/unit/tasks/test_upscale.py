"""The upscale plan travels: a Ray worker builds its task from the pickled plan, and that task saves the
same file as the task built where the plan was made."""

from __future__ import annotations

import functools
import pickle

import pytest
import torch

from srcli.tasks.run import RunOptions, Timings, resolve_device
from srcli.tasks.upscale import planned_upscale, upscale_task
from tests.images import save_8bit


@pytest.mark.parametrize(
    ("model", "scale", "degradation", "realism"),
    [
        (None, 2, "auto", None),
        (None, 4, "auto", 0.5),
        (None, 3, "bicubic", None),
        ("usrnet-tiny", 2, "gaussian:1.2", None),
    ],
)
def test_a_pickled_plan_builds_a_task_that_saves_the_same_file(tmp_path, model, scale, degradation, realism):
    torch.manual_seed(0)
    source = save_8bit(tmp_path / "in.png", torch.rand(3, 12, 16) * 255)
    options = RunOptions(device=resolve_device("cpu"))
    plan, task = planned_upscale(options, model, scale, degradation, realism)
    rebuilt = pickle.loads(pickle.dumps(functools.partial(upscale_task, plan)))(options)
    here, there = (t.encode(t.restore(t.read(str(source)), Timings(), None), ".png")[0] for t in (task, rebuilt))
    assert here == there and type(rebuilt) is type(task)
