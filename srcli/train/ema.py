"""An exponential moving average of a network's weights, for validation and export.

Averaging the weights of the last ~1/(1 − decay) steps removes most of the noise that a high
learning rate leaves in them, so a run can be validated and shipped mid-schedule. The
average never feeds back into training: with or without it, the loss curve is the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class WeightAverage:
    """``average ← d·average + (1 − d)·weights`` after every step, ``d = min(decay, n / (n + 1))``
    after ``n`` updates: the plain mean of the weights so far until ``n`` reaches the averaging
    horizon ``1 / (1 − decay)``, the exponential average from there on."""

    def __init__(self, net: nn.Module, decay: float) -> None:
        if not 0 <= decay < 1:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.tensors = {name: value.detach().clone() for name, value in net.state_dict().items()}

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        """Fold the network's current weights into the average."""
        weight = 1 - min(self.decay, self.updates / (self.updates + 1))
        for name, value in net.state_dict().items():
            if value.is_floating_point():
                self.tensors[name].lerp_(value, weight)
            else:
                self.tensors[name].copy_(value)
        self.updates += 1

    @contextmanager
    def swapped_in(self, net: nn.Module) -> Iterator[None]:
        """The average in ``net`` for the duration of the block, then the training weights again."""
        training_weights = {name: value.detach().clone() for name, value in net.state_dict().items()}
        net.load_state_dict(self.tensors)
        try:
            yield
        finally:
            net.load_state_dict(training_weights)
