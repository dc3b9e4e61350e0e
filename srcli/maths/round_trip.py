"""The integer round trip: a float estimate rounded so that degrading the saved file, as a file stores it, gives the
input back (Pillow's own 8-bit resize, or any operator rounded half up).

:class:`RoundedResize` and :class:`RoundedLinear` are the degradation as a file stores it; :func:`round_trip` moves
an estimate to integers whose stored degradation equals ``y``: float correction steps, then a value-by-value repair.
"""

from __future__ import annotations

import torch

from srcli.maths.degradations import Resize
from srcli.maths.operators import LinearOperator

PILLOW_PRECISION_BITS = 22
"""Pillow's fixed-point resampling precision for 8-bit images (``32 − 8 − 2``, Resample.c)."""


def _fixed_point(matrix: torch.Tensor) -> torch.Tensor:
    """Pillow's 8-bit coefficients: each weight × 2²² rounded half away from zero (``normalize_coeffs_8bpc``)."""
    scaled = matrix * (1 << PILLOW_PRECISION_BITS)
    return torch.where(scaled < 0, scaled - 0.5, scaled + 0.5).trunc().to(torch.int64)


class RoundedResize:
    """A separable degradation as an image file stores its result: integers in ``[0, max_value]``.

    ``pillow=True`` is Pillow's own 8-bit resize, bit for bit: fixed-point weights, one pass rounded and
    clipped to 8 bits, then the other (Resample.c). Pillow (13) runs the vertical pass first when the
    image is more than twice as tall as wide, else the horizontal one (measured against Pillow; a test
    holds it). Otherwise the float result is rounded half up and clipped (srcli's other degradations
    and 16-bit images).

    Example:
        >>> reference = RoundedResize(Resize.of("box", 2, 2, 2), 255, pillow=False)
        >>> reference(torch.tensor([[[10, 11], [10, 10]]])).tolist()
        [[[10]]]
    """

    def __init__(self, operator: Resize, max_value: int, pillow: bool) -> None:
        self.operator, self.max_value, self.pillow = operator, max_value, pillow
        if pillow:
            self.rows, self.cols = _fixed_point(operator.rows), _fixed_point(operator.cols)

    def _round(self, total: torch.Tensor) -> torch.Tensor:
        half = 1 << (PILLOW_PRECISION_BITS - 1)
        return ((total + half) >> PILLOW_PRECISION_BITS).clamp(0, self.max_value)

    @property
    def vertical_first(self) -> bool:
        """Whether Pillow runs the vertical pass first (an image more than twice as tall as wide)."""
        return self.rows.shape[1] > 2 * self.cols.shape[1]

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """``(C, H, W)`` integers → ``(C, h, w)`` int64."""
        if self.pillow and self.vertical_first:
            down = self._round(torch.einsum("ih,chw->ciw", self.rows, image.to(torch.int64)))
            return self._round(torch.einsum("ciw,jw->cij", down, self.cols))
        if self.pillow:
            across = self._round(torch.einsum("chw,jw->chj", image.to(torch.int64), self.cols))
            return self._round(torch.einsum("ih,chj->cij", self.rows, across))
        return self.floats(image).add(0.5).floor().clamp(0, self.max_value).to(torch.int64)

    def floats(self, image: torch.Tensor) -> torch.Tensor:
        """The float degradation ``(C, h, w)`` float64, no rounding."""
        return self.operator.A(image.to(torch.float64).unsqueeze(0))[0]

    def at(self, image: torch.Tensor, channel: int, rows: slice, cols: slice) -> torch.Tensor:
        """The stored values of LR pixels ``[rows, cols]`` of one channel only (``(r, c)`` int64)."""
        if self.pillow and self.vertical_first:
            row_weights, col_weights = self.rows[rows], self.cols[cols]
            used = col_weights.abs().sum(0).nonzero().flatten()
            down = self._round(row_weights @ image[channel][:, used].to(torch.int64))
            return self._round(down @ col_weights[:, used].T)
        if self.pillow:
            row_weights, col_weights = self.rows[rows], self.cols[cols]
            used = row_weights.abs().sum(0).nonzero().flatten()
            across = self._round(image[channel, used].to(torch.int64) @ col_weights.T)
            return self._round(row_weights[:, used] @ across)
        row_weights, col_weights = self.operator.rows[rows], self.operator.cols[cols]
        value = row_weights @ image[channel].to(torch.float64) @ col_weights.T
        return value.add(0.5).floor().clamp(0, self.max_value).to(torch.int64)


class RoundedLinear:
    """Any degradation operator as a file stores its result: the float result rounded half up, clipped.

    Example:
        >>> RoundedLinear(Resize.of("box", 2, 2, 2), 255)(torch.tensor([[[1, 2], [2, 2]]])).tolist()
        [[[2]]]
    """

    def __init__(self, operator: LinearOperator, max_value: int) -> None:
        self.operator, self.max_value = operator, max_value

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """``(C, H, W)`` integers → ``(C, h, w)`` int64."""
        degraded = self.operator.A(image.to(torch.float64).unsqueeze(0))[0]
        return degraded.add(0.5).floor().clamp(0, self.max_value).to(torch.int64)


ROUND_TRIP_STEPS = 24
"""Float correction steps of :func:`round_trip` before the integer repair."""
REPAIR_ROUNDS = 3
"""Passes of the integer repair over the LR values still wrong."""
REPAIR_MAX_SHARE = 0.1
"""The integer repair runs only while at most this share of LR values is wrong (and at least 64 may be). A
Pillow-bicubic LR leaves about 2 % after the float steps (163 of 7200 for the ×2 example), which the repair
brings to 1; a sharp photo declared ``gaussian:1.6`` at ×2 left 98 % (28238 of 28800): an input the degradation
did not make, which value-by-value repair cannot make exact, only slow (it ran over 6 minutes for 120×80)."""


def round_trip(
    estimate: torch.Tensor, y: torch.Tensor, reference: RoundedResize | RoundedLinear, steps: int = ROUND_TRIP_STEPS
) -> tuple[torch.Tensor, int]:
    """Integers near ``estimate`` whose stored degradation equals ``y``; and how many LR values still differ.

    Args:
        estimate: ``(C, H, W)`` float, the projected estimate in level units.
        y: ``(C, h, w)`` integers, the LR as stored.
        reference: the degradation as stored (:class:`RoundedResize` or :class:`RoundedLinear`).

    Iterates project → round → clip (``x ← x + A⁺(y − stored(round x))``, the float accumulating what
    rounding loses), then, for a separable degradation, repairs the few LR values left one by one (when they
    are few: :data:`REPAIR_MAX_SHARE`): the HR pixel of the footprint with the largest weight moves by whole
    levels until that value is right without breaking a neighbour.

    Example:
        >>> operator = Resize.of("bicubic", 2, 16, 16)
        >>> reference = RoundedResize(operator, 255, pillow=True)
        >>> y = reference(torch.randint(0, 256, (3, 16, 16), generator=torch.Generator().manual_seed(0)))
        >>> x = operator.project(torch.full((1, 3, 16, 16), 128.0, dtype=torch.float64), y.double().unsqueeze(0))[0]
        >>> image, missed = round_trip(x, y, reference)
        >>> missed, bool(torch.equal(reference(image), y))
        (0, True)
    """
    top = reference.max_value
    current = estimate.to(torch.float64).clone()
    image = current.round().clamp(0, top)
    for _ in range(steps):
        image = current.round().clamp(0, top)
        stored = reference(image)
        if torch.equal(stored, y):
            return image.to(torch.int64), 0
        current += reference.operator.A_pinv((y - stored).to(torch.float64).unsqueeze(0))[0]
    image = image.to(torch.int64)
    missed = int((reference(image) != y).sum())
    if not isinstance(reference, RoundedResize) or missed > max(REPAIR_MAX_SHARE * y.numel(), 64):
        return image, missed
    for _ in range(REPAIR_ROUNDS):
        if not missed:
            break
        missed = _repair(image, y.to(torch.int64), reference)
    return image, missed


def _footprint(matrix: torch.Tensor, index: int) -> torch.Tensor:
    """HR indices with a positive weight for LR index ``index``, the largest weight first."""
    weights = matrix[index]
    order = weights.argsort(descending=True)
    return order[weights[order] > 0]


def _repair(image: torch.Tensor, y: torch.Tensor, reference: RoundedResize, candidates: int = 6) -> int:
    """Fix the LR values that still differ by moving single HR pixels of their footprint (``image`` in place);
    returns how many still differ."""
    rows_matrix, cols_matrix = reference.operator.rows, reference.operator.cols
    height, width = y.shape[-2:]
    for channel, i, j in (reference(image) != y).nonzero().tolist():
        near_rows = slice(max(i - 3, 0), min(i + 4, height))
        near_cols = slice(max(j - 3, 0), min(j + 4, width))
        target = y[channel, near_rows, near_cols]
        before = int((reference.at(image, channel, near_rows, near_cols) != target).sum())
        fixed = False
        for h in _footprint(rows_matrix, i)[:candidates].tolist():
            for w in _footprint(cols_matrix, j)[:candidates].tolist():
                original = int(image[channel, h, w])
                direction = (
                    1
                    if int(y[channel, i, j]) > int(reference.at(image, channel, slice(i, i + 1), slice(j, j + 1)))
                    else -1
                )
                for step in range(1, 17):
                    value = original + direction * step
                    if not 0 <= value <= reference.max_value:
                        break
                    image[channel, h, w] = value
                    after = reference.at(image, channel, near_rows, near_cols) != target
                    if not bool(after[i - near_rows.start, j - near_cols.start]) and int(after.sum()) < before:
                        fixed = True
                        break
                if fixed:
                    break
                image[channel, h, w] = original
            if fixed:
                break
    return int((reference(image) != y).sum())
