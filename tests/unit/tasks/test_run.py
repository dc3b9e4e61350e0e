"""The engine refuses network outputs that are not numbers before they reach the operator."""

from __future__ import annotations

import pytest
import torch

from srcli.errors import ModelError
from srcli.tasks.run import OUTPUT_LIMIT, Timings, fill_tiles


def run_with(value: float) -> torch.Tensor:
    x = torch.rand(1, 3, 8, 8)
    out = torch.zeros(3, 16, 16)

    def network(window: torch.Tensor) -> torch.Tensor:
        core = window.repeat_interleave(2, -1).repeat_interleave(2, -2).clone()
        core[..., 0, 0] = value
        return core

    def finish(core: torch.Tensor, measured: torch.Tensor, target: torch.Tensor) -> None:
        target.copy_(core)

    return fill_tiles(network, x, x[0], out, finish, tile=4, overlap=1, scale=2, timings=Timings(), on_tile=None)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 10 * OUTPUT_LIMIT, -10 * OUTPUT_LIMIT])
def test_a_core_that_is_not_an_image_is_refused_in_one_line(value):
    with pytest.raises(ModelError, match=r"the model produced .* values") as refused:
        run_with(value)
    assert "\n" not in str(refused.value)


def test_ordinary_values_pass():
    assert run_with(0.5).shape == (3, 16, 16)
