"""A relaxed projection that stays in the file's range: the estimate nearest ``z`` that is consistent with the input
to its noise level *and* lies in ``[0, top]``, so clipping the saved file costs (nearly) no consistency.

Clipping a relaxed projection afterwards (a deblurred estimate overshoots 0 and 255 at about 1 % of its pixels) adds a
residual of its own: on BSD68 with a 15-px motion blur the saved file's grew from the 0.29 levels relaxed to 0.42.
Both sets are convex, the images whose degradation is within the noise level of ``y`` (a ball around ``y``, which the
relaxed projection projects onto) and the box, so Dykstra's alternating projections (Boyle and Dykstra 1986) converge
to the point of their intersection nearest ``z``, which plain alternation (POCS) would not: each set's correction is
carried to its next projection.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

IN_RANGE_ROUNDS = 10
"""Dykstra rounds at most (each one relaxed projection, warm-started from the last, and one clip)."""
OUTSIDE_TOLERANCE = 0.5
"""How far (levels) the consistent iterate may lie outside ``[0, top]`` for the rounds to stop: no further than
rounding moves a value, so clipping the rounded file moves no value more than rounding does."""


def relaxed_in_range(
    relax: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, top: float, rounds: int = IN_RANGE_ROUNDS
) -> torch.Tensor:
    """Dykstra's projections from ``z`` between the consistent set (``relax``, a relaxed projection onto it of any
    shape, called once a round) and the box ``[0, top]``, until the consistent iterate lies within
    :data:`OUTSIDE_TOLERANCE` of the box or after ``rounds``; returns that iterate clipped to the box, the same shape
    as ``z`` (once converged, clipping moves no value more than the tolerance).

    Example:
        >>> y = torch.tensor([300.0, 100.0], dtype=torch.float64)  # consistency: the mean of two values is 200
        >>> mean = lambda v: v + (y.mean() - v.mean())
        >>> [round(value) for value in relaxed_in_range(mean, y, 255).tolist()]  # the nearest pair in range
        [255, 145]
    """
    x, carried_consistent, carried_box = z, torch.zeros_like(z), torch.zeros_like(z)
    consistent = z
    for _ in range(rounds):
        consistent = relax(x + carried_consistent)
        carried_consistent = x + carried_consistent - consistent
        if float(torch.maximum(-consistent, consistent - top).max()) <= OUTSIDE_TOLERANCE:
            break
        x = (consistent + carried_box).clamp(0, top)
        carried_box = consistent + carried_box - x
    return consistent.clamp(0, top)
