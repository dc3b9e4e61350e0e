"""Exact quantisation: integer images whose block means equal integer targets exactly.

For each block that an operator averages (an s×s block of one channel for super-resolution,
the three channels of one pixel for ``Gray("mean")``), with ``n`` values and integer target
``y``, the values must sum to ``T = n·y``:

1. Box-constrained projection: a shift ``λ`` per block with ``Σ clip(x_i + λ, 0, MAX) = T``,
   the Euclidean projection of the block onto ``{Σ = T} ∩ [0, MAX]ⁿ``. For blocks that stay in
   range ``λ = (T − Σx)/n`` in closed form (exactly the PD step ``A⁺(y − Ax)``); for the
   others ``λ`` is solved exactly on the piecewise-linear ``Σ clip``.
2. Sum-preserving rounding: floor every value, then add 1 to the ``T − Σ floor`` values with
   the largest fractional parts.

Exactness never rests on float arithmetic: step 2 counts the missing units from integer-valued
floats, so the sums come out right whatever rounding error the projection carries. The float
type only decides how close each value lands to its projection: float32 for 8-bit images
(values ≤ 255 keep 1.5e-5 resolution; measured identical to float64 on Set14), float64 for
16-bit ones.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

CHUNK_ELEMENTS = 1 << 22  # bounds the (rows, 2n, n) work tensor of the clipped-block search


def _clipped_shift(rows: torch.Tensor, target: torch.Tensor, max_value: int) -> torch.Tensor:
    """The shift ``λ`` with ``Σ clip(row + λ, 0, MAX) = target`` for each of ``(B, n)`` rows.

    ``f(λ) = Σ clip(x_i + λ, 0, MAX)`` is piecewise linear and non-decreasing, with kinks at
    ``−x_i`` and ``MAX − x_i``: evaluate it at the sorted kinks, find the segment that holds
    the target, and solve the line there. Exact (no iteration), O(n²) per row.
    """
    kinks = torch.cat([-rows, max_value - rows], dim=-1).sort(dim=-1).values  # (B, 2n)
    at_kinks = (rows.unsqueeze(1) + kinks.unsqueeze(-1)).clamp_(0, max_value).sum(-1)  # (B, 2n)
    segment = (at_kinks <= target.unsqueeze(-1)).sum(-1).clamp(1, kinks.shape[-1] - 1) - 1
    left = kinks.gather(-1, segment.unsqueeze(-1)).squeeze(-1)
    right = kinks.gather(-1, (segment + 1).unsqueeze(-1)).squeeze(-1)
    f_left = at_kinks.gather(-1, segment.unsqueeze(-1)).squeeze(-1)
    f_right = at_kinks.gather(-1, (segment + 1).unsqueeze(-1)).squeeze(-1)
    slope = (f_right - f_left) / (right - left).clamp_min(torch.finfo(rows.dtype).tiny)
    return torch.where(slope > 0, left + (target - f_left) / slope.clamp_min(1e-300), left)


NEWTON_STEPS = 6


def _newton_shift(rows: torch.Tensor, target: torch.Tensor, max_value: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Newton's method on ``f(λ) = Σ clip(row + λ, 0, MAX) = target`` for ``(B, n)`` rows; returns
    ``(λ, solved)``.

    ``f`` is piecewise linear, so Newton lands exactly on the root once the clipped set stops
    changing. From the unclipped shift it converges monotonically when a block clips at one
    bound only (``f`` is then concave, or convex, on the way); rows that clip at both, or are
    not settled after a few steps, are left to :func:`_clipped_shift` (``solved`` is False).
    """
    shift = (target - rows.sum(-1)) / rows.shape[-1]
    for _ in range(NEWTON_STEPS):
        shifted = rows + shift.unsqueeze(-1)
        free = ((shifted > 0) & (shifted < max_value)).sum(-1)
        shift = shift + (target - shifted.clamp_(0, max_value).sum(-1)) / free.clamp_min(1)
    shifted = rows + shift.unsqueeze(-1)
    residual = (shifted.clamp(0, max_value).sum(-1) - target).abs()
    one_sided = ~((shifted < 0).any(-1) & (shifted > max_value).any(-1))
    return shift, one_sided & (residual <= 1e-3 * rows.shape[-1])


def _project_planes(planes: torch.Tensor, sums: torch.Tensor, scale: float, max_value: int) -> None:
    """In place: ``planes`` ``(n, B)`` (block ``b`` is column ``b``) times ``scale``, projected
    onto ``{Σ = sums} ∩ [0, max_value]ⁿ`` column by column.

    The closed-form shift serves every block that stays in range; the blocks that would clip
    are solved by :func:`_newton_shift`, or exactly by :func:`_clipped_shift` where it cannot.
    """
    n = planes.shape[0]
    shift = (sums - planes.sum(0) * scale) / n
    torch.add(shift, planes, alpha=scale, out=planes)
    clipping = ((planes.amin(0) < 0) | (planes.amax(0) > max_value)).nonzero().squeeze(-1)
    chunk = max(1, CHUNK_ELEMENTS // (2 * n * n))
    for start in range(0, clipping.numel(), chunk):
        index = clipping[start : start + chunk]
        rows, target = planes[:, index].T, sums[index]
        shift, solved = _newton_shift(rows, target, max_value)
        hard = (~solved).nonzero().squeeze(-1)
        shift[hard] = _clipped_shift(rows[hard], target[hard], max_value)
        planes[:, index] = (rows + shift.unsqueeze(-1)).clamp_(0, max_value).T


def _round_planes(planes: torch.Tensor, sums: torch.Tensor, max_value: int) -> torch.Tensor:
    """Integer-valued floats ``(n, B)`` in ``[0, max_value]`` whose columns sum to ``sums``
    exactly, from ``planes`` in ``[0, max_value]`` (overwritten).

    Same result as "floor, then add 1 to the ``T − Σ floor`` largest fractional parts": round
    to nearest, then in each column that is ``d`` short (or over), move by one step the ``|d|``
    values whose rounding went furthest the other way (one ``max`` per step; ``|d|`` is 0–2
    for almost every column, and at most ``n/2``: the loop is bounded by ``n`` steps and raises
    ``ValueError`` for non-finite values, which never settle). When the column sums equal ``T``
    the chosen values always have room to move: a value at the bound has rounded the "right" way
    and so cannot be among them.
    Integer-valued floats sum exactly (float32 up to 2²⁴), so the final check is exact.
    """
    rounded = torch.round(planes)
    score = planes.sub_(rounded)  # value − rounded, in [−0.5, 0.5]
    missing = sums - rounded.sum(0)
    direction = missing.sign()
    score.mul_(direction)  # how far each value rounded away from where its column must go
    # first step over every column at once (columns with nothing missing move by 0)
    rows = score.max(0).indices  # max is several times faster than argmax here
    rounded.scatter_add_(0, rows.unsqueeze(0), direction.unsqueeze(0))
    missing -= direction
    moved = [rounded.gather(0, rows.unsqueeze(0))]
    active = missing.nonzero().squeeze(-1)
    flat = rows[active] * planes.shape[1] + active
    for _ in range(planes.shape[0]):  # the few columns that still miss a unit or more
        if not active.numel():
            break
        score.view(-1)[flat] = -torch.inf
        step = direction[active]
        flat = score[:, active].max(0).indices * planes.shape[1] + active
        rounded.view(-1)[flat] += step
        moved.append(rounded.view(-1)[flat])
        missing[active] -= step
        keep = missing[active] != 0
        active, flat = active[keep], flat[keep]
    if active.numel():  # |missing| ≤ n/2 for finite values, so only NaN or infinity get here
        raise ValueError("exact quantisation needs finite values; the estimate holds NaN or infinity")
    # values only leave [0, max_value] where they moved; NaN or a wrong count shows in the sums
    moved_values = torch.cat([values.flatten() for values in moved])
    if (moved_values.numel() and (moved_values.min() < 0 or moved_values.max() > max_value)) or not torch.equal(
        rounded.sum(0), sums
    ):
        raise RuntimeError("exact quantisation missed its range or block sums; please report this")
    return rounded


def _quantize_planes(planes: torch.Tensor, means: torch.Tensor, scale: float, max_value: int) -> torch.Tensor:
    """Project and round ``planes`` ``(n, B)`` (owned, overwritten; values × ``scale`` in level
    units) to integers whose columns have the integer means ``means`` ``(B,)``."""
    if means.numel() and (means.min() < 0 or means.max() > max_value):
        raise ValueError(f"targets must lie in [0, {max_value}]")
    sums = means.to(planes.dtype) * planes.shape[0]
    _project_planes(planes, sums, scale, max_value)
    return _round_planes(planes, sums, max_value)


def _work_type(max_value: int) -> torch.dtype:
    return torch.float32 if max_value <= 255 else torch.float64


def quantize_blocks(values: torch.Tensor, means: torch.Tensor, max_value: int) -> torch.Tensor:
    """Integers in ``[0, max_value]`` nearest to ``values`` whose row means equal ``means``.

    Args:
        values: ``(B, n)`` float, any range (the network's output after PD).
        means: ``(B,)`` integers in ``[0, max_value]``, any dtype.
        max_value: 255 for 8-bit images, 65535 for 16-bit.

    Returns:
        ``(B, n)`` int32 with ``result.sum(-1) == n · means`` exactly.

    Example:
        >>> quantize_blocks(torch.tensor([[0.4, 0.4, 0.4, 300.0]]), torch.tensor([2]), 255)  # projected, not rescaled
        tensor([[0, 0, 0, 8]], dtype=torch.int32)
    """
    if values.ndim != 2 or means.shape != values.shape[:1]:
        raise ValueError(f"values must be (B, n) and means (B,), got {tuple(values.shape)}, {tuple(means.shape)}")
    planes = values.T.to(_work_type(max_value), copy=True).contiguous()
    return _quantize_planes(planes, means, 1.0, max_value).T.to(torch.int32)


STRIP_ELEMENTS = 1 << 21
"""HR values :func:`quantize_sr` works on at a time (8 MiB of float32). Its dozen elementwise passes then run over
memory just freed by the strip before instead of faulting in fresh pages each time: on a 2048² × 3 estimate (512² → ×4,
2-core Xeon) 0.067 s in strips of 64 LR rows against 0.108 s for the whole image at once, the same integers."""


def quantize_sr(
    x: torch.Tensor,
    lr: torch.Tensor,
    scale: int,
    max_value: int,
    unit: float = 1.0,
    out: torch.Tensor | None = None,
    addend: Callable[[int, int], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Quantise an SR estimate so that its s×s box means equal the integer LR exactly.

    Args:
        x: ``(N, C, s·h, s·w)`` float; ``x · unit`` is in ``[0, max_value]`` level units
            (clipping is handled here). Not modified.
        lr: ``(N, C, h, w)`` integers in ``[0, max_value]``.
        scale: the box size ``s``.
        out: where to write the result (any integer dtype holding ``max_value``), or None.
        addend: ``addend(top, bottom)``, a change in level units added to ``x · unit`` over LR rows
            ``top:bottom``: a new ``(N, C, s·(bottom − top), s·w)`` tensor of the working float type
            (float32 for ``max_value`` ≤ 255, else float64), or None for none.

    Returns:
        ``(N, C, s·h, s·w)`` integers with ``avg_pool2d(result, s) == lr`` exactly: ``out``, or
        a new int32 tensor.

    The blocks are laid out as ``s²`` planes of one value per block, so every per-block
    reduction is an elementwise operation across planes, and the work is done in place, a strip
    of LR rows at a time (:data:`STRIP_ELEMENTS`).

    Example:
        >>> lr = torch.tensor([[[[100, 254]]]])
        >>> out = quantize_sr(torch.rand(1, 1, 2, 4) * 300, lr, 2, 255)
        >>> out.view(1, 1, 2, 2, 2).sum((2, 4)).tolist(), bool(out.max() <= 255)
        ([[[400, 1016]]], True)
    """
    n, c, h, w = lr.shape
    s = scale
    if x.shape != (n, c, h * s, w * s):
        raise ValueError(f"estimate {tuple(x.shape)} does not match LR {tuple(lr.shape)} at ×{s}")
    out = out if out is not None else torch.empty((n, c, h * s, w * s), dtype=torch.int32)
    rows = max(1, STRIP_ELEMENTS // max(1, n * c * w * s * s))
    for top in range(0, h, rows):
        bottom = min(h, top + rows)
        strip = x[..., top * s : bottom * s, :].reshape(n, c, bottom - top, s, w, s).permute(3, 5, 0, 1, 2, 4)
        if addend is not None:
            planes, strip_unit = addend(top, bottom).add_(strip, alpha=unit), 1.0
        else:
            planes, strip_unit = torch.empty((s, s, n, c, bottom - top, w), dtype=_work_type(max_value)), unit
            planes.copy_(strip)
        rounded = _quantize_planes(planes.view(s * s, -1), lr[..., top:bottom, :].reshape(-1), strip_unit, max_value)
        target = out[..., top * s : bottom * s, :].view(n, c, bottom - top, s, w, s)
        target.copy_(rounded.view(s, s, n, c, bottom - top, w).permute(2, 3, 4, 0, 5, 1))
    return out


def quantize_gray_mean(x: torch.Tensor, gray: torch.Tensor, max_value: int) -> torch.Tensor:
    """Quantise an RGB estimate ``(N, 3, H, W)`` so its channel mean equals ``gray`` ``(N, 1, H, W)``.

    Example:
        >>> rgb = torch.tensor([[[[10.2]], [[80.7]], [[250.0]]]])
        >>> quantize_gray_mean(rgb, torch.tensor([[[[120]]]]), 255).flatten()
        tensor([ 17,  88, 255], dtype=torch.int32)
    """
    n, _, h, w = x.shape
    planes = x.permute(1, 0, 2, 3).to(_work_type(max_value), copy=True).reshape(3, -1)
    quantized = _quantize_planes(planes, gray.reshape(-1), 1.0, max_value)
    return quantized.view(3, n, h, w).permute(1, 0, 2, 3).to(torch.int32)


PILLOW_LUMA = (19595, 38470, 7471)
"""Pillow's ``convert("L")``: ``L = (19595 R + 38470 G + 7471 B + 32768) >> 16`` (weights sum to 65536)."""


def pillow_luma(rgb: torch.Tensor) -> torch.Tensor:
    """Pillow's 8-bit luma of integer ``(N, 3, H, W)`` RGB, exactly: ``(N, 1, H, W)`` int64.

    Example:
        >>> pillow_luma(torch.tensor([[[[255]], [[128]], [[0]]]])).item()  # what Image.convert("L") gives
        151
    """
    weights = torch.tensor(PILLOW_LUMA, dtype=torch.int64).view(1, 3, 1, 1)
    return ((rgb.to(torch.int64) * weights).sum(1, keepdim=True) + 32768) >> 16


def quantize_gray_pillow(x: torch.Tensor, gray: torch.Tensor, max_steps: int = 4) -> torch.Tensor:
    """Integer RGB near ``x`` whose Pillow ``convert("L")`` is ``gray`` exactly (8-bit).

    Args:
        x: ``(N, 3, H, W)`` float RGB estimate in [0, 255] units, any range.
        gray: ``(N, 1, H, W)`` integers in [0, 255].

    Returns:
        ``(N, 3, H, W)`` int32 in [0, 255] with ``pillow_luma(result) == gray``.

    PD with Pillow's own weights shifts the three channels by ``gray − w·x``; after rounding the
    weighted sum can miss the target window ``[65536·L − 32768, 65536·L + 32767]`` by a little.
    Each step moves one channel of each missing pixel by one level (the one whose rounding went
    furthest the other way, among those with room); a step changes the sum by at most 38470,
    less than the window's width, so it never jumps over it.

    Example:
        >>> gray = torch.tensor([[[[0, 128, 255]]]])
        >>> torch.equal(pillow_luma(quantize_gray_pillow(torch.rand(1, 3, 1, 3) * 255, gray)), gray)
        True
    """
    weights = torch.tensor(PILLOW_LUMA, dtype=torch.int64).view(1, 3, 1, 1)
    target = gray.to(torch.int64)
    estimate = x.to(torch.float64)
    estimate = estimate + (target - (estimate * weights).sum(1, keepdim=True) / 65536)
    rgb = estimate.clamp(0, 255).round().to(torch.int64)
    low, high = target * 65536 - 32768, target * 65536 + 32767
    for _ in range(max_steps):
        weighted = (rgb * weights).sum(1, keepdim=True)
        direction = (weighted < low).to(torch.int64) - (weighted > high).to(torch.int64)
        if not direction.any():
            return rgb.to(torch.int32)
        residual = (estimate - rgb) * direction
        room = torch.where(direction > 0, 255 - rgb, rgb)
        channel = residual.masked_fill(room == 0, -torch.inf).argmax(1, keepdim=True)
        distance = torch.where(direction > 0, low - weighted, weighted - high).clamp(min=0)
        weight = weights.expand_as(rgb).gather(1, channel)
        levels = torch.minimum(-(-distance // weight), room.gather(1, channel))
        rgb.scatter_add_(1, channel, direction * levels)
    raise RuntimeError("exact gray quantisation did not converge; please report this")
