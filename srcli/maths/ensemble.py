"""Geometric self-ensemble: the mean of a network over the 8 flips and transposes of its input.

Box downsampling commutes with every flip and transpose, so each of the 8 estimates, projected,
is consistent with the LR, and so is their mean: PD and the exact quantiser work on it unchanged.
Costs 8 network passes; buys about 0.1 dB (Lim et al., EDSR+, 2017).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
from torch import nn

FLIPS: tuple[tuple[int, ...], ...] = ((), (-1,), (-2,), (-2, -1))


def transform(x: torch.Tensor, flip: tuple[int, ...], transpose: bool) -> torch.Tensor:
    """One element of the dihedral group on the last two dims: flip ``flip`` dims, then transpose.

    Example:
        >>> transform(torch.tensor([[1, 2], [3, 4]]), (-1,), True)
        tensor([[2, 4],
                [1, 3]])
    """
    x = x.flip(flip) if flip else x
    return x.transpose(-1, -2) if transpose else x


def undo(x: torch.Tensor, flip: tuple[int, ...], transpose: bool) -> torch.Tensor:
    """The inverse of :func:`transform` with the same arguments.

    Example:
        >>> x = torch.arange(6).view(2, 3)
        >>> torch.equal(undo(transform(x, (-2, -1), True), (-2, -1), True), x)
        True
    """
    x = x.transpose(-1, -2) if transpose else x
    return x.flip(flip) if flip else x


class SelfEnsemble(nn.Module):
    """``(N, C, h, w)`` → the mean over the dihedral group of ``undo(net(transform(x)))``.

    Example:
        >>> x = torch.rand(1, 3, 4, 4)
        >>> torch.allclose(SelfEnsemble(lambda t: 2 * t)(x), 2 * x)  # equivariant nets are unchanged
        True
    """

    def __init__(self, net: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(())
        for flip, transpose in itertools.product(FLIPS, (False, True)):
            total = total + undo(self.net(transform(x, flip, transpose)), flip, transpose)
        return total / (len(FLIPS) * 2)
