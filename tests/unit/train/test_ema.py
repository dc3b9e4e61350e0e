"""The weight average behind ``--ema``: its recurrence and the swap in and out of a network."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from srcli.train.ema import WeightAverage


@settings(max_examples=30, deadline=None)
@given(decay=st.floats(0, 0.999), steps=st.integers(1, 20), seed=st.integers(0, 2**16))
def test_average_follows_the_warmed_up_recurrence(decay, steps, seed):
    generator = torch.Generator().manual_seed(seed)
    net = nn.Linear(3, 2)
    average = WeightAverage(net, decay)
    expected = net.weight.detach().clone().double()
    for n in range(steps):
        with torch.no_grad():
            net.weight.copy_(torch.randn(2, 3, generator=generator))
        average.update(net)
        d = min(decay, n / (n + 1))
        expected = d * expected + (1 - d) * net.weight.detach().double()
    assert torch.allclose(average.tensors["weight"].double(), expected, atol=1e-5)


def test_average_is_the_plain_mean_within_the_horizon():
    net = nn.Linear(1, 1, bias=False)
    average = WeightAverage(net, 0.99)
    for value in (1.0, 2.0, 6.0):
        with torch.no_grad():
            net.weight.fill_(value)
        average.update(net)
    assert average.tensors["weight"].item() == pytest.approx(3.0)


def test_swapped_in_restores_the_training_weights_even_after_an_error():
    net = nn.Linear(3, 2)
    average = WeightAverage(net, 0.9)
    with torch.no_grad():
        average.tensors["weight"].zero_()
    training = net.weight.detach().clone()
    with pytest.raises(RuntimeError), average.swapped_in(net):
        assert torch.count_nonzero(net.weight) == 0
        raise RuntimeError
    assert torch.equal(net.weight, training)
