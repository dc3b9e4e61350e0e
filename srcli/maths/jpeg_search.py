"""8-bit antecedents of a JPEG file: an integer search, MCU by MCU, for pixels whose libjpeg encoding lands in the
file's bins.

The float projection of :mod:`srcli.maths.jpeg` rounds to pixels whose real encoding misses a few
coefficients, mostly in ragged border MCUs where a few real pixels stand for the replicated padding and
libjpeg's integer arithmetic (:mod:`srcli.maths.libjpeg`) strays from the float model by a good part of a
bin. Each MCU is coded from its own pixels alone (and, at the right and bottom borders, their replicas), so
each failing MCU is searched on its own with libjpeg's exact arithmetic: a candidate's score is its workspace's
distance outside the bins, ``V = Σ max(0, low − ws, ws − high)`` (8 × DCT units). Each step tries, cheapest
first, a few roundings along the float model's way into the bins (:func:`srcli.maths.jpeg.feedback_step`), then
changes that move luma or one chroma plane alone on a chroma sampling block or a pixel, then ±1 on one value,
and keeps the first that lowers ``V``, until ``V = 0``; where none does, it starts again from its best pixels
shaken a little. Its random draws depend on the step alone, so an MCU's search is the same whatever is searched
beside it. Measured on the MCUs the float rounding left wrong in 6 BSD68 files at q90 (those the float
repair failed on): 60 to 62 of 69 exact with changes of one value or of one channel over a sampling block, 69 with
the luma and chroma moves.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import torch

from srcli.maths.jpeg import (
    Agreement,
    Encoder,
    JpegCoefficients,
    JpegLayout,
    agreement_of,
    dct_coefficients,
    feedback_step,
    mcu_mismatches,
    mcu_units,
    project_consistent,
    put_mcu_units,
    repair_rows,
)
from srcli.maths.jpeg_moves import CANDIDATE, LocalTier, distance_outside, local_tiers, move_tiers, tier_scores
from srcli.maths.libjpeg import bin_interval, libjpeg_workspace, quantize_workspace

SEARCH_STEPS = 60
"""Steps (kept changes and restarts) the search makes at most in one MCU."""
KICKS, KICK = 4, 2
"""Where no change lowers the score, the search starts again from its best pixels shaken by up to ``KICK``
levels each, at most ``KICKS`` times."""
FLOAT_STEPS, FLOAT_RATE, FLOAT_CORE = 100, 0.5, 0.5
"""Steps and rate (levels) of :func:`float_start`, and the share of each bin it aims at."""
FIRST_LENGTHS = (0.7, 0.75, 0.8, 0.4)
"""Lengths of the few candidates each step tries first along the float model's way into the bins, stochastically
rounded: chosen greedily on the MCUs rounding left wrong in 6 Set5/Set14 pictures at q40, q75 and q90, where they
fix 2047 of the 2128 (96 %) that any of :data:`DIRECTED` fixes."""
DIRECTED = 32
"""Candidates along that way, at lengths ¼ to 2, that a step tries where none of :data:`FIRST_LENGTHS` lowers the
score."""


def _mcu_targets(target: JpegCoefficients, row: int, col: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The file's luma ``(1, 8·by, 8·bx)`` and chroma ``(2, 8, 8)`` coefficients of MCU ``(row, col)``."""
    layout = target.layout
    mcu_rows, mcu_cols = layout.mcu
    luma = target.luma[..., row * mcu_rows : (row + 1) * mcu_rows, col * mcu_cols : (col + 1) * mcu_cols]
    if target.chroma is None:
        return luma, None
    return luma, target.chroma[..., row * 8 : (row + 1) * 8, col * 8 : (col + 1) * 8]


Axis = int
"""Where a strip lays its MCUs: side by side along the width (−1) or one above the other along the height (−2)."""


def _per_mcu(values: torch.Tensor, count: int, axis: Axis = -1) -> torch.Tensor:
    """``(N, k, H, count·W)`` (MCUs side by side; ``(N, k, count·H, W)`` along the height) summed per MCU:
    ``(N, count)``."""
    n, k, h, w = values.shape
    if axis == -2:
        return values.reshape(n, k, count, h // count, w).sum((1, 3, 4))
    return values.reshape(n, k, h, count, w // count).sum((1, 2, 4))


Workspace = tuple[torch.Tensor, torch.Tensor | None]
"""libjpeg's islow DCT outputs of some pixels, luma and chroma (:func:`srcli.maths.libjpeg.libjpeg_workspace`)."""


def _strip_violation(
    candidates: torch.Tensor,
    bins: list[tuple[torch.Tensor, torch.Tensor]],
    layout: JpegLayout,
    count: int = 1,
    workspace: Workspace | None = None,
    axis: Axis = -1,
) -> torch.Tensor:
    """``V`` per MCU ``(N, count)`` of integer strips ``(N, C, r, count·c)`` of ``count`` MCUs side by side (one MCU
    each by default; ``(N, C, count·r, c)`` along ``axis`` −2) against ``bins`` (luma, chroma) ``(low, high)``; the
    maximum int64 for an MCU with a value outside [0, 255]. ``workspace``: the candidates' own, where the caller has
    it."""
    planes = [p for p in (workspace or libjpeg_workspace(candidates, layout)) if p is not None]
    scores = torch.zeros((candidates.shape[0], count), dtype=torch.int64)
    for ws, (low, high) in zip(planes, bins, strict=True):
        scores += _per_mcu(distance_outside(ws, low, high), count, axis)
    outside = _per_mcu(((candidates < 0) | (candidates > 255)).to(torch.int32), count, axis) > 0
    return scores.masked_fill_(outside, torch.iinfo(torch.int64).max)


def _way(x: torch.Tensor, file: JpegCoefficients, workspace: Workspace | None = None) -> torch.Tensor:
    """The float model's way into ``file``'s bins from int16 ``x`` ``(1, C, r, c)``
    (:func:`srcli.maths.jpeg.feedback_step`): a float64 change of the same shape. ``workspace``: ``x``'s own, where
    the caller has it."""
    luma_ws, chroma_ws = workspace or libjpeg_workspace(x, file.layout)
    now = JpegCoefficients(
        quantize_workspace(luma_ws[0], file.tables[0]).double(),
        None if chroma_ws is None else quantize_workspace(chroma_ws[0], file.tables[1]).double(),
        file.tables,
        file.layout,
        file.size,
    )
    return feedback_step(x.double(), now, file) - x


def _directed(x: torch.Tensor, way: torch.Tensor, lengths: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Candidates ``(L, n, C, r, c)`` int16 for ``n`` MCUs ``x`` ``(n, C, r, c)`` along their ``way`` (same shape) at
    the ``(L,)`` float64 ``lengths``, rounded up where ``noise`` ``(L, C, r, c)`` in [0, 1) (the same for every MCU)
    carries the fraction over (stochastic rounding)."""
    moved = x + lengths.view(-1, 1, 1, 1, 1) * way + noise[:, None]
    return moved.floor_().clamp_(0, 255).to(CANDIDATE)


@functools.lru_cache(maxsize=SEARCH_STEPS)
def _step_noise(shape: tuple[int, int, int], step: int) -> torch.Tensor:
    """The stochastic rounding of step ``step``'s directed candidates of an MCU of ``shape`` ``(C, r, c)``:
    ``(len(FIRST_LENGTHS) + DIRECTED, C, r, c)`` float64 in [0, 1), drawn from a generator seeded by the step, so
    that every MCU's search is the same whichever MCUs it is searched beside."""
    generator = torch.Generator().manual_seed(step)
    return torch.rand((len(FIRST_LENGTHS) + DIRECTED, *shape), generator=generator, dtype=torch.float64)


@functools.lru_cache(maxsize=KICKS)
def _kick(shape: tuple[int, int, int], kick: int) -> torch.Tensor:
    """The ``kick``-th shake (from 1) of an MCU of ``shape`` ``(C, r, c)``: int16 changes in [−KICK, KICK]."""
    generator = torch.Generator().manual_seed(SEARCH_STEPS + kick)  # not a step's seed
    return torch.randint(-KICK, KICK + 1, shape, generator=generator).to(CANDIDATE)


@functools.lru_cache(maxsize=1)
def _step_lengths() -> tuple[torch.Tensor, torch.Tensor]:
    """The lengths of a step's two directed tiers: :data:`FIRST_LENGTHS` and :data:`DIRECTED` from ¼ to 2 (made
    once, shared: never changed in place)."""
    return (
        torch.tensor(FIRST_LENGTHS, dtype=torch.float64),
        torch.linspace(0.25, 2.0, DIRECTED, dtype=torch.float64),
    )


def float_start(pixels: torch.Tensor, file: JpegCoefficients) -> torch.Tensor:
    """uint8 pixels ``(1, C, r, c)`` of one MCU moved by :data:`FLOAT_STEPS` Adam steps on the float
    model's squared distance outside the central :data:`FLOAT_CORE` of each of ``file``'s bins, the padding
    included as libjpeg replicates (which the projection's per-pixel change does not follow), then rounded: a
    start for :func:`search_mcu` where its own pixels lead nowhere."""
    half = FLOAT_CORE / 2
    y = pixels.double()
    moment, power = torch.zeros_like(y), torch.zeros_like(y)
    for step in range(1, FLOAT_STEPS + 1):
        with torch.enable_grad():
            y.requires_grad_(True)
            luma, chroma = dct_coefficients(y, file.tables, file.layout)
            loss = ((luma - luma.clamp(file.luma - half, file.luma + half)) ** 2).sum()
            if chroma is not None and file.chroma is not None:
                loss = loss + ((chroma - chroma.clamp(file.chroma - half, file.chroma + half)) ** 2).sum()
            (gradient,) = torch.autograd.grad(loss, y)
        moment = 0.9 * moment + 0.1 * gradient
        power = 0.999 * power + 0.001 * gradient**2
        change = moment / (1 - 0.9**step) / ((power / (1 - 0.999**step)).sqrt() + 1e-8)
        y = (y.detach() - FLOAT_RATE * change).clamp(0, 255)
    return y.round().to(torch.uint8)


def _candidates(
    x: torch.Tensor, way: torch.Tensor, noise: torch.Tensor, moves: tuple[torch.Tensor, ...]
) -> Iterator[torch.Tensor]:
    """One step's tiers of candidates ``(N, C, r, c)`` int16 for one MCU ``x`` ``(1, C, r, c)``, cheapest first, each
    made as it is reached: :data:`FIRST_LENGTHS` then :data:`DIRECTED` along its ``way`` (rounded by the step's
    ``noise``), then each tier of ``moves``."""
    first, directed = _step_lengths()
    yield _directed(x, way, first, noise[: first.numel()])[:, 0]
    yield _directed(x, way, directed, noise[first.numel() :])[:, 0]
    for tier in moves:
        yield x + tier


def search_mcu(
    pixels: torch.Tensor, luma: torch.Tensor, chroma: torch.Tensor | None, tables: torch.Tensor, layout: JpegLayout
) -> tuple[torch.Tensor, bool]:
    """Greedy integer search from the uint8 pixels ``(1, C, r, c)`` of one MCU (``r``, ``c`` its real rows and columns)
    for pixels whose libjpeg encoding gives coefficients ``luma`` ``(1, 8·by, 8·bx)`` and ``chroma`` ``(2, 8, 8)``
    (``None`` for gray); returns the best pixels found, uint8 ``(1, C, r, c)``, and whether they are exact."""
    bins = [bin_interval(luma, tables[0])]
    if chroma is not None:
        bins.append(bin_interval(chroma, tables[1]))
    x = pixels.to(CANDIDATE)
    shape = tuple(x.shape[1:])
    moves = move_tiers(shape, layout.sample_block)
    score = int(_strip_violation(x, bins, layout)[0, 0])
    file = JpegCoefficients(luma, chroma, tables, layout, (x.shape[-2], x.shape[-1]))
    best_x, best_score, kicks = x, score, 0
    for step in range(SEARCH_STEPS):
        if score == 0:
            break
        for candidates in _candidates(x, _way(x, file), _step_noise(shape, step), moves):
            scores = _strip_violation(candidates, bins, layout)[:, 0]
            pick = int(scores.argmin())
            if int(scores[pick]) < score:
                x, score = candidates[pick : pick + 1], int(scores[pick])
                break
        else:
            if kicks == KICKS:
                break
            kicks += 1
            x = (best_x + _kick(shape, kicks)).clamp(0, 255)
            score = int(_strip_violation(x, bins, layout)[0, 0])
        if score < best_score:
            best_x, best_score = x, score
    return best_x.to(torch.uint8), best_score == 0


BATCH_MCUS = 128
"""Full-size MCUs :func:`search_mcus` searches side by side at once."""
TIER_MCUS = 8
"""MCUs whose move tier (up to 1536 candidates each) is scored at once: about 19 MiB of int16 candidates at 4:2:0."""


def _side_by_side(mcus: torch.Tensor, axis: Axis = -1) -> torch.Tensor:
    """``(M, k, H, W)`` → ``(k, H, M·W)``: the MCUs (pixels or coefficient planes) laid side by side as one strip
    (``(k, M·H, W)``, one above the other, along ``axis`` −2)."""
    m, k, h, w = mcus.shape
    if axis == -2:
        return mcus.permute(1, 0, 2, 3).reshape(k, m * h, w)
    return mcus.permute(1, 2, 0, 3).reshape(k, h, m * w)


def _strip_of(candidates: torch.Tensor, axis: Axis = -1) -> torch.Tensor:
    """Candidates ``(N, n, C, r, c)`` for ``n`` MCUs → ``(N, C, r, n·c)``: each candidate's MCUs side by side
    (``(N, C, n·r, c)`` along ``axis`` −2)."""
    n, m, channels, rows, cols = candidates.shape
    if axis == -2:
        return candidates.permute(0, 2, 1, 3, 4).reshape(n, channels, m * rows, cols)
    return candidates.permute(0, 2, 3, 1, 4).reshape(n, channels, rows, m * cols)


class _Strip:
    """The targets of a set of same-size MCUs laid side by side (along ``axis``): ``luma`` ``(M, 1, 8·by, 8·bx)``,
    ``chroma`` ``(M, 2, 8, 8)`` or None; :meth:`scores` of candidate pixels of some of them, :meth:`file` of those."""

    def __init__(
        self, luma: torch.Tensor, chroma: torch.Tensor | None, tables: torch.Tensor, layout: JpegLayout, axis: Axis
    ):
        self.luma, self.chroma, self.tables, self.layout, self.axis = luma, chroma, tables, layout, axis
        self.bins = [bin_interval(luma, tables[0])]  # each MCU's, (M, k, H, W) low and high
        if chroma is not None:
            self.bins.append(bin_interval(chroma, tables[1]))

    def file(self, index: torch.Tensor, size: tuple[int, int]) -> JpegCoefficients:
        """The coefficients of MCUs ``index`` side by side, an image of ``size`` (the strip's pixels)."""
        chroma = None if self.chroma is None else _side_by_side(self.chroma[index], self.axis)
        return JpegCoefficients(_side_by_side(self.luma[index], self.axis), chroma, self.tables, self.layout, size)

    def scores(self, candidates: torch.Tensor, index: torch.Tensor, workspace: Workspace | None = None) -> torch.Tensor:
        """``V`` ``(N, n)`` of candidates ``(N, n, C, r, c)`` int16 for MCUs ``index`` ``(n,)``; ``workspace``: that
        of the candidates laid side by side (:func:`_strip_of`), where the caller has it."""
        bins = [
            (_side_by_side(low[index], self.axis), _side_by_side(high[index], self.axis)) for low, high in self.bins
        ]
        strips = _strip_of(candidates, self.axis)
        return _strip_violation(strips, bins, self.layout, index.numel(), workspace, self.axis)

    def tier_scores(self, x: torch.Tensor, tier: LocalTier, index: torch.Tensor) -> torch.Tensor:
        """``V`` ``(M, n)`` of each move of ``tier`` added to each of MCUs ``index`` ``(n,)``, pixels ``x``
        ``(n, C, r, c)`` int16 (:func:`srcli.maths.jpeg_moves.tier_scores`)."""
        return tier_scores(x, tier, [(low[index], high[index]) for low, high in self.bins], self.layout)


def search_mcus(
    pixels: torch.Tensor,
    luma: torch.Tensor,
    chroma: torch.Tensor | None,
    tables: torch.Tensor,
    layout: JpegLayout,
    axis: Axis = -1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`search_mcu` for ``M`` MCUs of one shape at once: uint8 ``pixels`` ``(M, C, r, c)``, their coefficients
    ``luma`` ``(M, 1, 8·by, 8·bx)`` and ``chroma`` ``(M, 2, 8, 8)`` (None for gray); returns the best pixels found
    ``(M, C, r, c)`` uint8 and whether each is exact ``(M,)``. Full-size MCUs and those the bottom edge cuts short
    are laid side by side along the width (``axis`` −1), those the right edge cuts short one above the other (−2).

    The MCUs step in lockstep, with :func:`search_mcu`'s random draws (the same for every MCU at a step), so each
    takes :func:`search_mcu`'s own path; what is batched is the scoring: each step's directed candidates for every
    MCU still searching, laid side by side as one strip (each MCU is coded from its own pixels, and libjpeg repeats
    the last row and column of each alike, so the strip's coefficients are theirs), then each further tier for the
    MCUs it is reached in (a full-size MCU's scored from the blocks each move touches, a short one's whole). Only the
    float model's way into the bins can round differently in its last bit on a strip."""
    count, channels, rows, cols = pixels.shape
    shape = (channels, rows, cols)
    strip = _Strip(luma, chroma, tables, layout, axis)
    all_moves = move_tiers(shape, layout.sample_block)
    local = local_tiers(shape, layout.sample_block) if (rows, cols) == layout.mcu else (None,) * len(all_moves)
    tiers = tuple(zip(all_moves, local, strict=True))
    first, directed = _step_lengths()
    x = pixels.to(CANDIDATE)
    everyone = torch.arange(count)
    workspace: Workspace | None = libjpeg_workspace(_strip_of(x[None], axis), layout)  # the start's, for its way
    score = strip.scores(x[None], everyone, workspace)[0]
    best_x, best_score = x.clone(), score.clone()
    kicks = [0] * count
    running = torch.ones(count, dtype=torch.bool)

    def take(index: torch.Tensor, lowest: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        """Moves MCUs ``index`` ``(n,)`` to their ``chosen`` candidates ``(n, C, r, c)`` where those score ``lowest``
        ``(n,)`` below them; returns which did ``(n,)``."""
        improved = lowest < score[index]
        x[index[improved]], score[index[improved]] = chosen[improved], lowest[improved]
        return improved

    def take_directed(index: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """:func:`take` of the best of directed ``candidates`` ``(N, n, C, r, c)`` for MCUs ``index``."""
        lowest, pick = strip.scores(candidates, index).min(0)
        return take(index, lowest, candidates[pick, torch.arange(index.numel())])

    def take_move(index: torch.Tensor, moves: torch.Tensor, tier: LocalTier | None) -> torch.Tensor:
        """:func:`take` of the best move of a tier, ``moves`` ``(M, C, r, c)`` and the same as ``tier`` (None: each
        candidate scored whole)."""
        if tier is None:
            lowest, pick = strip.scores(x[index][None] + moves[:, None], index).min(0)
        else:
            lowest, pick = strip.tier_scores(x[index], tier, index).min(0)
        return take(index, lowest, x[index] + moves[pick])

    for step in range(SEARCH_STEPS):
        running &= score > 0
        active = running.nonzero().squeeze(1)
        if not active.numel():
            break
        noise = _step_noise(shape, step)
        known = workspace if active.numel() == count else None
        size = (active.numel() * rows, cols) if axis == -2 else (rows, active.numel() * cols)
        way = _way(_strip_of(x[active][None], axis), strip.file(active, size), known)[0]
        workspace = None  # the MCUs have moved
        if axis == -2:  # (n, C, r, c), as active
            way = way.reshape(channels, -1, rows, cols).permute(1, 0, 2, 3)
        else:
            way = way.reshape(channels, rows, -1, cols).permute(2, 0, 1, 3)
        improved = take_directed(active, _directed(x[active], way, first, noise[: first.numel()]))
        pending, way = active[~improved], way[~improved]
        if pending.numel():
            pending = pending[~take_directed(pending, _directed(x[pending], way, directed, noise[first.numel() :]))]
        for moves, tier in tiers:
            if not pending.numel():
                break
            pending = torch.cat([part[~take_move(part, moves, tier)] for part in pending.split(TIER_MCUS)])
        for i in pending.tolist():  # no move lowered its score: shake its best pixels, or stop
            if kicks[i] == KICKS:
                running[i] = False
                continue
            kicks[i] += 1
            x[i] = (best_x[i] + _kick(shape, kicks[i])).clamp(0, 255)
            score[i] = strip.scores(x[i][None, None], everyone[i : i + 1])[0, 0]
        better = score < best_score
        best_x[better], best_score[better] = x[better], score[better]
    return best_x.to(torch.uint8), best_score == 0


def _search_side_by_side(
    image: torch.Tensor, target: JpegCoefficients, positions: torch.Tensor, unit: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`search_mcus` of MCUs of uint8 ``image`` ``(1, C, h, w)`` at grid ``positions`` ``(k, 2)``, all of them
    ``unit`` ``(rows, cols)`` in size: the MCU's own, or the last MCU row's or column's where the image's edge cuts
    them (not both), :data:`BATCH_MCUS` at a time, each written back into ``image`` where it came out exact.
    Returns the best pixels each found ``(k, C, rows, cols)`` uint8 and whether they are exact ``(k,)``."""
    layout = target.layout
    rows, cols = unit
    found = torch.empty((positions.shape[0], image.shape[1], rows, cols), dtype=torch.uint8)
    exact = torch.zeros(positions.shape[0], dtype=torch.bool)
    if not positions.numel():
        return found, exact
    short = torch.tensor(unit) < torch.tensor(layout.mcu)  # an edge's band of MCUs, cut out of the planes
    band = torch.where(short, positions[0], 0)
    pixels = image[..., band[0] * layout.mcu[0] :, band[1] * layout.mcu[1] :]
    luma = target.luma[..., band[0] * layout.mcu[0] :, band[1] * layout.mcu[1] :]
    chroma = None if target.chroma is None else target.chroma[..., band[0] * 8 :, band[1] * 8 :]
    at, axis = positions - band, -2 if bool(short[1]) else -1
    luma_rows, luma_cols = layout.luma_blocks(rows, cols)
    luma_unit = (8 * luma_rows, 8 * luma_cols)
    for start in range(0, at.shape[0], BATCH_MCUS):
        batch, part = at[start : start + BATCH_MCUS], slice(start, start + BATCH_MCUS)
        coefficients = None if chroma is None else mcu_units(chroma, (8, 8), batch)
        found[part], exact[part] = search_mcus(
            mcu_units(pixels, unit, batch)[:, 0],
            mcu_units(luma, luma_unit, batch),
            coefficients,
            target.tables,
            layout,
            axis,
        )
        put_mcu_units(pixels, unit, batch[exact[part]], found[part][exact[part]][:, None])
    return found, exact


def exact_repair(image: torch.Tensor, target: JpegCoefficients, wrong: torch.Tensor) -> torch.Tensor:
    """uint8 ``image`` ``(1, C, h, w)`` with each MCU marked in ``wrong`` ``(rows, cols)`` bool replaced by what
    :func:`search_mcu` finds from its pixels (:func:`search_mcus` side by side for all but a corner one the image's
    edges cut both ways), or else from :func:`float_start`'s, where that is exact; the other MCUs untouched."""
    layout = target.layout
    mcu_rows, mcu_cols = layout.mcu
    height, width = image.shape[-2:]
    image = image.clone()
    positions = wrong.nonzero()
    whole_rows = (positions[:, 0] + 1) * mcu_rows <= height
    whole_cols = (positions[:, 1] + 1) * mcu_cols <= width
    last_rows, last_cols = height - (height - 1) // mcu_rows * mcu_rows, width - (width - 1) // mcu_cols * mcu_cols
    left = [(row, col, True) for row, col in positions[~whole_rows & ~whole_cols].tolist()]  # the corner
    for group, unit in (
        (whole_rows & whole_cols, layout.mcu),
        (~whole_rows & whole_cols, (last_rows, mcu_cols)),
        (whole_rows & ~whole_cols, (mcu_rows, last_cols)),
    ):
        _, exact = _search_side_by_side(image, target, positions[group], unit)
        left += [(row, col, False) for row, col in positions[group][~exact].tolist()]  # searched, not exact
    for row, col, unsearched in left:
        rows = slice(row * mcu_rows, (row + 1) * mcu_rows)
        cols = slice(col * mcu_cols, (col + 1) * mcu_cols)
        luma, chroma = _mcu_targets(target, row, col)
        pixels = image[..., rows, cols]
        found, done = search_mcu(pixels, luma, chroma, target.tables, layout) if unsearched else (pixels, False)
        if not done:
            file = JpegCoefficients(luma, chroma, target.tables, layout, (pixels.shape[-2], pixels.shape[-1]))
            found, done = search_mcu(float_start(pixels, file), luma, chroma, target.tables, layout)
        if done:
            image[..., rows, cols] = found
    return image


def integer_antecedent(
    z: torch.Tensor,
    target: JpegCoefficients,
    encode: Encoder,
    fallback: torch.Tensor | None = None,
    in_bins: bool = False,
) -> tuple[torch.Tensor, Agreement]:
    """An 8-bit image near ``z`` ``(1, C, h, w)`` (float, [0, 255]) whose real encoding (``encode``) reproduces the
    file ``target``.

    Projects onto the bins and rounds; the MCUs whose real encoding differs are searched with libjpeg's exact
    arithmetic (:func:`exact_repair`), and the MCU rows the encoder still rejects (an encoder whose arithmetic is
    not libjpeg-turbo's, or an MCU the search left) go through the float repair
    (:func:`srcli.maths.jpeg.repair_rows`, with ``fallback``, the file's own decoded pixels). ``in_bins``: ``z`` is
    in the bins already where [0, 255] lets it be (:func:`srcli.maths.jpeg.project_consistent`'s). Returns the
    ``(1, C, h, w)`` uint8 image and its agreement.
    """
    best = project_consistent(z, target, in_bins=in_bins).round().to(torch.uint8)
    mismatches = mcu_mismatches(encode(best), target)
    if bool(mismatches.any()):
        best = exact_repair(best, target, mismatches > 0)
        code = encode(best)
        mismatches = mcu_mismatches(code, target)
        if bool(mismatches.any()):
            best = repair_rows(z, best, target, encode, fallback, encoded=code)
            mismatches = mcu_mismatches(encode(best), target)
    return best, agreement_of(mismatches, target)
