"""Known degradations y = (x ⊗ k)↓s as linear operators, with exact borders and a relaxed form for noise.

Two kinds, both :class:`srcli.maths.operators.LinearOperator`:

* :class:`Resize`: a *separable* degradation, one matrix per axis, ``y = R x Cᵀ`` per channel: the box
  average (today's operator), bicubic as Pillow's ``resize`` and as MATLAB's ``imresize`` downsample
  (the cubic's support stretched by s, which is their antialiasing), and the isotropic Gaussian. The
  matrices carry each library's own border rule, so the guarantee covers the whole file.
* :class:`BlurDecimate`: any 2-D kernel (motion, anisotropic Gaussian, a kernel file), circular
  convolution and keeping every s-th pixel, projected in the Fourier domain: USRNet's closed-form data
  step as its weight goes to 0. Real images are not periodic: :func:`covered_border` says which LR
  border it does not cover.

The right inverse is the minimum-norm one, ``A⁺ = Aᵀ(AAᵀ)⁻¹``, computed in ``AAᵀ``'s eigenbasis (per
axis for :class:`Resize`, per frequency for :class:`BlurDecimate`). Eigenvalues below
:data:`EIGEN_FLOOR` × the largest are raised to that floor: an ill-conditioned kernel (a wide Gaussian
at ×2) then leaves those few components of ``y`` unmatched instead of amplifying them without bound.
:meth:`relaxed` is the noisy case: ``x = z + Aᵀ(AAᵀ + α)⁻¹(y − Az)``, ``α`` chosen so that the
residual has the stated noise level (the discrepancy principle).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from srcli.maths.operators import LinearOperator

EIGEN_FLOOR = 1e-10
"""Eigenvalues of ``AAᵀ`` below this fraction of the largest are raised to it."""
SEPARABLE_KERNELS = ("box", "bicubic", "bicubic-matlab", "gaussian")
Progress = Callable[[int, int], None]
"""Called with ``(steps done, steps planned)`` as a long solve goes; the plan is a forecast and may move."""
Relaxer = Callable[[torch.Tensor], torch.Tensor]
"""A relaxed projection onto one ``y`` at one noise level, as a function of the estimate ``z``."""


def _cubic(x: torch.Tensor, a: float = -0.5) -> torch.Tensor:
    """Keys' cubic convolution kernel (support 2), ``a = −0.5`` as Pillow and MATLAB use."""
    x = x.abs()
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return torch.where(x < 1, near, torch.where(x < 2, far, torch.zeros_like(x)))


def _pillow_matrix(in_size: int, scale: int) -> torch.Tensor:
    """Pillow's bicubic downscale by ``scale`` along one axis: ``(in_size // scale, in_size)`` float64.

    Its rule (``precompute_coeffs`` in Pillow's Resample.c): output pixel ``i`` has centre ``(i + ½)·s``,
    the cubic stretched by ``s``, taps from ``int(centre − 2s + ½)`` to ``int(centre + 2s + ½)`` clipped to
    the image, weights normalised to sum 1 (so a border pixel's kernel is cut and renormalised).
    """
    out_size = in_size // scale
    matrix = torch.zeros(out_size, in_size, dtype=torch.float64)
    support = 2.0 * scale
    for i in range(out_size):
        centre = (i + 0.5) * scale
        low, high = max(int(centre - support + 0.5), 0), min(int(centre + support + 0.5), in_size)
        taps = torch.arange(low, high, dtype=torch.float64)
        weights = _cubic((taps - centre + 0.5) / scale)
        matrix[i, low:high] = weights / weights.sum()
    return matrix


def _matlab_matrix(in_size: int, scale: int) -> torch.Tensor:
    """MATLAB's ``imresize(x, 1/s, 'bicubic')`` (antialiasing on) along one axis: ``(in // s, in)`` float64.

    Output pixel ``i`` (0-based) is centred at HR coordinate ``(i + ½)·s − ½``; the cubic is stretched by
    ``s``; taps outside the image are mirrored back in (MATLAB's symmetric padding); weights sum to 1.
    """
    out_size = in_size // scale
    matrix = torch.zeros(out_size, in_size, dtype=torch.float64)
    width = math.ceil(4 * scale) + 2
    for i in range(out_size):
        centre = (i + 0.5) * scale - 0.5
        taps = torch.arange(math.floor(centre - width / 2), math.floor(centre - width / 2) + width + 1)
        weights = _cubic((centre - taps.to(torch.float64)) / scale)
        mirrored = taps % (2 * in_size)
        mirrored = torch.where(mirrored >= in_size, 2 * in_size - 1 - mirrored, mirrored)
        matrix[i].index_add_(0, mirrored, weights / weights.sum())
    return matrix


def _box_matrix(in_size: int, scale: int) -> torch.Tensor:
    """The s-pixel mean along one axis: ``(in // s, in)``."""
    out_size = in_size // scale
    return torch.eye(out_size, dtype=torch.float64).repeat_interleave(scale, dim=1)[:, : out_size * scale] / scale


def _gaussian_matrix(in_size: int, scale: int, sigma: float) -> torch.Tensor:
    """A Gaussian of ``sigma`` HR pixels centred on each LR pixel's footprint, cut at 3σ (at least the
    footprint) and at the image border, renormalised: ``(in // s, in)``."""
    out_size = in_size // scale
    matrix = torch.zeros(out_size, in_size, dtype=torch.float64)
    radius = max(math.ceil(3 * sigma), scale)
    for i in range(out_size):
        centre = (i + 0.5) * scale - 0.5
        low, high = max(math.floor(centre - radius), 0), min(math.ceil(centre + radius) + 1, in_size)
        taps = torch.arange(low, high, dtype=torch.float64)
        weights = torch.exp(-((taps - centre) ** 2) / (2 * sigma * sigma))
        matrix[i, low:high] = weights / weights.sum()
    return matrix


def resize_matrix(kernel: str, in_size: int, scale: int, sigma: float | None = None) -> torch.Tensor:
    """One axis of a separable degradation: ``(in_size // scale, in_size)`` float64, rows summing to 1.

    Example:
        >>> resize_matrix("box", 4, 2)
        tensor([[0.5000, 0.5000, 0.0000, 0.0000],
                [0.0000, 0.0000, 0.5000, 0.5000]], dtype=torch.float64)
        >>> bool(torch.allclose(resize_matrix("bicubic", 12, 3).sum(1), torch.ones(4, dtype=torch.float64)))
        True
    """
    if in_size < scale:
        raise ValueError(f"a side of {in_size} pixels is smaller than the scale {scale}")
    if kernel == "box":
        return _box_matrix(in_size, scale)
    if kernel == "bicubic":
        return _pillow_matrix(in_size, scale)
    if kernel == "bicubic-matlab":
        return _matlab_matrix(in_size, scale)
    if kernel == "gaussian":
        if sigma is None or not sigma > 0:
            raise ValueError(f"a Gaussian needs a positive sigma, got {sigma!r}")
        return _gaussian_matrix(in_size, scale, sigma)
    raise ValueError(f"unknown separable kernel {kernel!r}; known: {', '.join(SEPARABLE_KERNELS)}")


def interior_kernel(kernel: str, scale: int, sigma: float | None = None) -> torch.Tensor:
    """The 2-D kernel of a separable degradation away from the border: ``(K, K)`` float64 (K odd), summing
    to 1, such that :class:`BlurDecimate` with it equals :class:`Resize` on every LR pixel whose footprint
    lies inside the image. Read off an interior row of :func:`resize_matrix` (each library's own taps),
    placed around the sampled pixel ``s·i + s // 2`` and flipped (``BlurDecimate`` convolves).

    Example:
        >>> interior_kernel("box", 2)
        tensor([[0.0000, 0.0000, 0.0000],
                [0.0000, 0.2500, 0.2500],
                [0.0000, 0.2500, 0.2500]], dtype=torch.float64)
        >>> interior_kernel("bicubic", 1).tolist()
        [[1.0]]
    """
    reach = max(2 * scale + 2, math.ceil(3 * sigma) + scale if sigma else 0)
    blocks = 2 * (reach // scale + 2) + 1
    row = blocks // 2
    weights = resize_matrix(kernel, blocks * scale, scale, sigma)[row]
    taps = weights.nonzero().flatten()
    offsets = taps - (scale * row + scale // 2)
    radius = int(offsets.abs().max())
    line = torch.zeros(2 * radius + 1, dtype=torch.float64)
    line[radius - offsets] = weights[taps]  # weight of x[p + d] goes to index radius − d
    return torch.outer(line, line)


def _floored_inverse(eigenvalues: torch.Tensor) -> torch.Tensor:
    return 1.0 / eigenvalues.clamp_min(EIGEN_FLOOR * float(eigenvalues.max()))


class Resize(LinearOperator):
    """A separable degradation ``A(x) = R x Cᵀ`` on ``(N, C, H, W)`` of one size, ``R`` ``(h, H)``, ``C`` ``(w, W)``.

    ``A⁺ = Aᵀ(AAᵀ)⁻¹`` with ``AAᵀ = (R Rᵀ) ⊗ (C Cᵀ)``, inverted in the eigenbases of the two small
    Gram matrices (floored, :data:`EIGEN_FLOOR`).

    Example:
        >>> op = Resize.of("bicubic", 4, 32, 24)
        >>> x, y = torch.rand(1, 3, 32, 24, dtype=torch.float64), torch.rand(1, 3, 8, 6, dtype=torch.float64)
        >>> bool(torch.allclose(op.A(op.project(x, y)), y))
        True
    """

    def __init__(self, rows: torch.Tensor, cols: torch.Tensor) -> None:
        self.rows, self.cols = rows.to(torch.float64), cols.to(torch.float64)
        self._row_values, self._row_vectors = torch.linalg.eigh(self.rows @ self.rows.T)
        self._col_values, self._col_vectors = torch.linalg.eigh(self.cols @ self.cols.T)

    @classmethod
    def of(cls, kernel: str, scale: int, height: int, width: int, sigma: float | None = None) -> Resize:
        """The degradation ``kernel`` at ×``scale`` of an HR image ``height × width`` (multiples of ``scale``)."""
        if height % scale or width % scale:
            raise ValueError(f"image size {height}×{width} is not a multiple of the scale {scale}")
        return cls(resize_matrix(kernel, height, scale, sigma), resize_matrix(kernel, width, scale, sigma))

    def A(self, x: torch.Tensor) -> torch.Tensor:
        rows, cols = self.rows.to(x), self.cols.to(x)
        return torch.einsum("ih,nchw,jw->ncij", rows, x, cols)

    def At(self, y: torch.Tensor) -> torch.Tensor:
        """The adjoint ``Rᵀ y C``: ``(N, C, h, w)`` → ``(N, C, H, W)``."""
        rows, cols = self.rows.to(y), self.cols.to(y)
        return torch.einsum("ih,ncij,jw->nchw", rows, y, cols)

    def _spectral(self, r: torch.Tensor) -> torch.Tensor:
        """``r`` ``(N, C, h, w)`` in the eigenbasis of ``AAᵀ``."""
        return torch.einsum("ia,ncij,jb->ncab", self._row_vectors.to(r), r, self._col_vectors.to(r))

    def _back(self, r: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ia,ncab,jb->ncij", self._row_vectors.to(r), r, self._col_vectors.to(r))

    def _eigenvalues(self) -> torch.Tensor:
        """``(h, w)``: the eigenvalues of ``AAᵀ``, one per pair of axis eigenvectors."""
        return self._row_values[:, None] * self._col_values[None, :]

    def A_pinv(self, y: torch.Tensor) -> torch.Tensor:
        return self.At(self._back(self._spectral(y) * _floored_inverse(self._eigenvalues()).to(y)))

    def relaxed(self, z: torch.Tensor, y: torch.Tensor, sigma: float) -> torch.Tensor:
        """``z + Aᵀ(AAᵀ + α)⁻¹(y − Az)`` with ``α`` such that the residual ``y − Ax`` has root mean square
        ``sigma`` (the noise level, in ``y``'s units); ``sigma = 0`` is :meth:`project`.

        Example:
            >>> op = Resize.of("gaussian", 2, 16, 16, sigma=1.0)
            >>> x = torch.rand(1, 1, 16, 16, dtype=torch.float64)
            >>> y = op.A(x) + 0.05 * torch.randn(1, 1, 8, 8, dtype=torch.float64)
            >>> residual = y - op.A(op.relaxed(torch.zeros_like(x), y, 0.05))
            >>> round(float(residual.square().mean().sqrt()), 3)
            0.05
        """
        if sigma <= 0:
            return self.project(z, y)
        spectrum = self._spectral(y - self.A(z))
        values = self._eigenvalues().to(spectrum)
        alpha = _discrepancy_alpha(spectrum, values, sigma)
        return z + self.At(self._back(spectrum / (values + alpha)))

    def relaxer(self, y: torch.Tensor, sigma: float, on_step: Progress | None = None) -> Relaxer:
        """:meth:`relaxed` onto ``y`` as a function of ``z`` (:func:`srcli.maths.in_range.relaxed_in_range`); it is
        closed-form, so ``on_step`` counts each call as one step."""
        calls = 0

        def relax(z: torch.Tensor) -> torch.Tensor:
            nonlocal calls
            x = self.relaxed(z, y, sigma)
            calls += 1
            if on_step:
                on_step(calls, calls + 1)
            return x

        return relax

    def __repr__(self) -> str:
        return f"Resize({self.rows.shape[0]}×{self.cols.shape[0]} ← {self.rows.shape[1]}×{self.cols.shape[1]})"


def _discrepancy_alpha(spectrum: torch.Tensor, values: torch.Tensor, sigma: float) -> float:
    """The ``α`` ≥ 0 with mean residual energy ``σ²``: the residual of frequency ``f`` is
    ``α / (λ_f + α)`` of the initial one, so its energy rises monotonically with ``α`` (bisection in log α).
    Where even ``α = ∞`` (keeping ``z``) leaves less than ``σ²``, ``z`` is already within the noise: ``α`` huge."""
    energy = spectrum.square()
    target = sigma * sigma * energy.numel()

    def residual(alpha: float) -> float:
        return float((energy * (alpha / (values + alpha)) ** 2).sum())

    if residual(1e30) <= target:
        return 1e30
    low, high = -30.0, 30.0
    for _ in range(100):
        middle = (low + high) / 2
        if residual(10.0**middle) > target:
            high = middle
        else:
            low = middle
    return 10.0 ** ((low + high) / 2)


class BlurDecimate(LinearOperator):
    """``A(x) = (x ⊛ k)[s·i + o, s·j + o]``: circular convolution with a 2-D kernel ``k``, then every s-th
    pixel (offset ``o = s // 2``, the footprint's centre), on ``(N, C, H, W)`` of one size.

    ``AAᵀ`` is diagonal in the LR Fourier domain with the mean of ``|K|²`` over the ``s²`` aliased
    frequencies (USRNet's closed form), floored at :data:`EIGEN_FLOOR` × its largest value.

    Example:
        >>> kernel = torch.tensor([[0.0, 0.2, 0.0], [0.2, 0.2, 0.2], [0.0, 0.2, 0.0]])
        >>> op = BlurDecimate(kernel, 2, 16, 16)
        >>> x, y = torch.rand(1, 3, 16, 16, dtype=torch.float64), torch.rand(1, 3, 8, 8, dtype=torch.float64)
        >>> bool(torch.allclose(op.A(op.project(x, y)), y))
        True
    """

    def __init__(self, kernel: torch.Tensor, scale: int, height: int, width: int) -> None:
        if kernel.ndim != 2:
            raise ValueError(f"a blur kernel must be 2-D, got shape {tuple(kernel.shape)}")
        if height % scale or width % scale:
            raise ValueError(f"image size {height}×{width} is not a multiple of the scale {scale}")
        if kernel.shape[0] > height or kernel.shape[1] > width:
            raise ValueError(f"kernel {tuple(kernel.shape)} is larger than the image {height}×{width}")
        total = float(kernel.sum())
        if not total > 0:
            raise ValueError(f"a blur kernel must have a positive sum, got {total}")
        self.kernel = (kernel / total).to(torch.float64)
        self.scale, self.offset, self.size = scale, scale // 2, (height, width)
        padded = torch.zeros(height, width, dtype=torch.float64)
        kh, kw = self.kernel.shape
        padded[:kh, :kw] = self.kernel
        padded = padded.roll((-(kh // 2), -(kw // 2)), dims=(0, 1))  # centre the kernel on pixel (0, 0)
        full = torch.fft.fft2(padded)
        aliased = full.abs().square().view(scale, height // scale, scale, width // scale)
        self._inverse = _floored_inverse(aliased.mean(dim=(0, 2)))  # (h, w): symmetric, as the kernel is real
        self.spectrum = full[:, : width // 2 + 1]  # the real-input half, for rfft2
        self._inverse_half = self._inverse[:, : width // scale // 2 + 1]

    def A(self, x: torch.Tensor) -> torch.Tensor:
        blurred = torch.fft.irfft2(torch.fft.rfft2(x) * self.spectrum.to(x.device), s=x.shape[-2:])
        return blurred[..., self.offset :: self.scale, self.offset :: self.scale]

    def At(self, y: torch.Tensor) -> torch.Tensor:
        """The adjoint: zero-filled upsampling at the sampled pixels, then correlation with ``k``."""
        s = self.scale
        up = torch.zeros(*y.shape[:-2], y.shape[-2] * s, y.shape[-1] * s, dtype=y.dtype, device=y.device)
        up[..., self.offset :: s, self.offset :: s] = y
        return torch.fft.irfft2(torch.fft.rfft2(up) * self.spectrum.conj().to(y.device), s=up.shape[-2:])

    def solve(self, r: torch.Tensor, alpha: float = 0.0) -> torch.Tensor:
        """``(AAᵀ + α)⁻¹ r`` on the LR grid (``AAᵀ`` floored), through the real FFT."""
        inverse = self._inverse_half if alpha == 0 else 1.0 / (1.0 / self._inverse_half + alpha)
        return torch.fft.irfft2(torch.fft.rfft2(r) * inverse.to(r.device), s=r.shape[-2:])

    def A_pinv(self, y: torch.Tensor) -> torch.Tensor:
        return self.At(self.solve(y))

    def relaxed(self, z: torch.Tensor, y: torch.Tensor, sigma: float) -> torch.Tensor:
        """:meth:`Resize.relaxed` for the circular operator: ``α`` per the discrepancy principle, per frequency."""
        if sigma <= 0:
            return self.project(z, y)
        spectrum = torch.fft.fft2(y - self.A(z))
        values = (1.0 / self._inverse).to(y.device)
        count = spectrum.shape[-2] * spectrum.shape[-1]
        alpha = _discrepancy_alpha(spectrum.abs() / math.sqrt(count), values.expand(spectrum.shape), sigma)
        return z + self.At(torch.fft.ifft2(spectrum / (values + alpha)).real)

    def __repr__(self) -> str:
        return f"BlurDecimate(kernel={tuple(self.kernel.shape)}, scale={self.scale})"


def covered_border(kernel_size: int, scale: int) -> int:
    """LR pixels at each border that a circular :class:`BlurDecimate` does not cover on a real (non-periodic)
    image: those whose kernel footprint wraps around, ``⌈(kernel_size // 2 + s // 2) / s⌉``.

    Example:
        >>> covered_border(15, 4)
        3
    """
    return math.ceil((kernel_size // 2 + scale // 2) / scale)


CG_STEPS = 200
"""Conjugate-gradient steps of :class:`ReflectBlur` at most (each four FFTs); it stops at :data:`CG_TOLERANCE`."""
CG_TOLERANCE = 1e-10
"""Relative residual norm at which :class:`ReflectBlur`'s conjugate gradients stop (far below a level)."""
RELAXED_TOLERANCE = 1e-6
"""Relative residual norm at which :meth:`ReflectBlur.relaxed`'s solves stop: its residual is a noise level
matched to :data:`DISCREPANCY_TOLERANCE`, far coarser, and the result is rounded to integers after."""
SEARCH_TOLERANCE = 1e-3
"""Relative residual norm of the solves that search ``α`` (the last ``α`` is solved again to
:data:`RELAXED_TOLERANCE`, from where they stopped)."""
ROUND_TOLERANCE = 1e-3
"""Relative residual norm at which a warm-started call of :meth:`ReflectBlur.relaxer` stops (a round of
:func:`srcli.maths.in_range.relaxed_in_range`, whose result moves again by clipping)."""
SEARCH_STEPS = 40
"""Conjugate-gradient steps of each solve that searches ``α`` at most: a first guess far below the ``α`` sought
is ill-conditioned, and its unconverged residual already says which way to move."""
ALPHA_FLOOR = 1e-7
"""The smallest ``α`` :meth:`ReflectBlur.relaxed` uses (``AAᵀ`` has eigenvalues up to 1): its conjugate
gradients converge above it; a noise level that asks for less leaves a slightly larger residual."""
DISCREPANCY_STEPS = 8
"""Secant steps of :meth:`ReflectBlur.relaxed` on ``α`` at most (each one conjugate-gradient solve)."""
DISCREPANCY_TOLERANCE = 0.02
"""Relative distance of :meth:`ReflectBlur.relaxed`'s residual from the noise level at which ``α`` is kept."""


def _secant_alpha(alpha: float, error: float, solved: Callable[[float], tuple[torch.Tensor, float]]) -> float:
    """The ``α`` whose residual is within :data:`DISCREPANCY_TOLERANCE` of the noise level, from ``α`` with
    ``error`` (the log of the residual over the level): up to :data:`DISCREPANCY_STEPS` secant steps in ``log α``
    (Illinois), each ``solved(α)`` giving ``(u, error)``, leaping by decades until the level is bracketed."""
    below: tuple[float, float] | None = None  # (log α, error) with the residual under sigma, and over it
    above: tuple[float, float] | None = None
    last: bool | None = None  # which end the last step replaced (True: the one below)
    for _ in range(DISCREPANCY_STEPS):
        if abs(error) <= math.log1p(DISCREPANCY_TOLERANCE) or alpha >= 1e30 or (error > 0 and alpha == ALPHA_FLOOR):
            break
        here, side = (math.log(alpha), error), error < 0
        if side == last and below and above:  # Illinois: the end kept twice in a row has its error halved
            below, above = (below, (above[0], above[1] / 2)) if side else ((below[0], below[1] / 2), above)
        below, above, last = (here, above, side) if side else (below, here, side)
        if below and above:
            log_alpha = below[0] - below[1] * (above[0] - below[0]) / (above[1] - below[1])
        else:  # not bracketed yet: leap by at least two decades (the residual can be flat in α)
            log_alpha = here[0] - math.copysign(max(4 * abs(error), 2 * math.log(10)), error)
        alpha = min(max(math.exp(log_alpha), ALPHA_FLOOR), 1e30)
        _, error = solved(alpha)
    return alpha


def fast_length(length: int, scale: int) -> int:
    """The smallest multiple of ``scale`` ≥ ``length`` whose ``1/scale`` has prime factors 2, 3, 5 and 7 only:
    a size the FFT is fast at, at both resolutions (a prime size such as 337 takes it about five times longer).

    Example:
        >>> fast_length(337, 1), fast_length(337, 4)
        (343, 360)
    """

    def smooth(n: int) -> bool:
        for prime in (2, 3, 5, 7):
            while n % prime == 0:
                n //= prime
        return n == 1

    lr = -(-length // scale)
    while not smooth(lr):
        lr += 1
    return lr * scale


def _fold_reflection(padded: torch.Tensor, margin: int, dim: int) -> torch.Tensor:
    """Adjoint of ``reflect`` padding by ``margin`` along ``dim`` (torch's reflection leaves out the edge
    pixel: ``padded[m − 1 − i] = x[i + 1]``)."""
    size = padded.shape[dim] - 2 * margin
    inner = padded.narrow(dim, margin, size).clone()
    before = padded.narrow(dim, 0, margin).flip(dim)  # before[i] mirrors x[i + 1]
    after = padded.narrow(dim, margin + size, margin).flip(dim)  # after[k] mirrors x[size − 2 − (m − 1 − k)]
    inner.narrow(dim, 1, margin).add_(before)
    inner.narrow(dim, size - 1 - margin, margin).add_(after)
    return inner


class ReflectBlur(LinearOperator):
    """Blur with any 2-D ``kernel`` and keep every s-th pixel, as ``srcli degrade`` makes such an LR:
    the HR image is extended by mirror reflection around its border, blurred, sampled and cropped, so
    every LR pixel, border included, sees only the image. ``(N, C, H, W)`` → ``(N, C, H/s, W/s)``.

    A linear operator on the unpadded image (reflect-pad, :class:`BlurDecimate`, crop); its projection
    solves ``AAᵀ u = r`` by conjugate gradients, preconditioned by the circular operator's exact inverse,
    so the guarantee covers the whole file.

    Example:
        >>> from srcli.maths.blur_kernels import motion_kernel
        >>> op = ReflectBlur(motion_kernel(7, 30), 2, 24, 20)
        >>> x, y = torch.rand(1, 1, 24, 20, dtype=torch.float64), op.A(torch.rand(1, 1, 24, 20, dtype=torch.float64))
        >>> bool((op.A(op.project(x, y)) - y).abs().max() < 1e-8)
        True
    """

    def __init__(self, kernel: torch.Tensor, scale: int, height: int, width: int) -> None:
        if height % scale or width % scale:
            raise ValueError(f"image size {height}×{width} is not a multiple of the scale {scale}")
        radius = max(kernel.shape) // 2
        self.scale, self.margin = scale, scale * math.ceil((radius + scale) / scale)
        if self.margin >= min(height, width):
            raise ValueError(f"kernel {tuple(kernel.shape)} is too large for an image of {height}×{width}")
        self.height, self.width = height, width
        grid = (fast_length(height + 2 * self.margin, scale), fast_length(width + 2 * self.margin, scale))
        self.circular = BlurDecimate(kernel, scale, *grid)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` mirrored by the margin, then zeros up to the circular grid (beyond the kernel's reach)."""
        m = self.margin
        mirrored = torch.nn.functional.pad(x, (m, m, m, m), mode="reflect")
        grid = self.circular.size
        return torch.nn.functional.pad(mirrored, (0, grid[1] - mirrored.shape[-1], 0, grid[0] - mirrored.shape[-2]))

    def _pad_adjoint(self, padded: torch.Tensor) -> torch.Tensor:
        """The adjoint of :meth:`_pad`: each mirrored pixel's value is added back onto its source."""
        m = self.margin
        mirrored = padded[..., : self.height + 2 * m, : self.width + 2 * m]
        return _fold_reflection(_fold_reflection(mirrored, m, -1), m, -2)

    def _embed(self, y: torch.Tensor) -> torch.Tensor:
        """An LR image on the circular operator's LR grid: zeros around it (the adjoint of :meth:`_crop`)."""
        b = self.margin // self.scale
        rows, cols = (side // self.scale for side in self.circular.size)
        return torch.nn.functional.pad(y, (b, cols - b - y.shape[-1], b, rows - b - y.shape[-2]))

    def _crop(self, lr: torch.Tensor) -> torch.Tensor:
        b = self.margin // self.scale
        return lr[..., b : b + self.height // self.scale, b : b + self.width // self.scale]

    def A(self, x: torch.Tensor) -> torch.Tensor:
        return self._crop(self.circular.A(self._pad(x)))

    def At(self, y: torch.Tensor) -> torch.Tensor:
        return self._pad_adjoint(self.circular.At(self._embed(y)))

    def _precondition(self, r: torch.Tensor, alpha: float) -> torch.Tensor:
        return self._crop(self.circular.solve(self._embed(r), alpha))  # crop ∘ circulant⁻¹ ∘ embed: symmetric

    def _solve(
        self,
        y: torch.Tensor,
        alpha: float = 0.0,
        start: torch.Tensor | None = None,
        tolerance: float = CG_TOLERANCE,
        steps: int = CG_STEPS,
        on_step: Callable[[int, float], None] | None = None,
    ) -> torch.Tensor:
        """``u`` with ``(AAᵀ + α) u = y`` by conjugate gradients (per image and channel) from ``start`` (zeros by
        default), preconditioned by the circular operator's exact ``(AAᵀ + α)⁻¹``, until the residual is
        ``tolerance`` of ``y`` or after ``steps``. ``on_step(steps done, decades left)`` is called before each
        step and at the end: how many powers of ten the worst channel's residual is still above ``tolerance``."""
        u = torch.zeros_like(y) if start is None else start.clone()
        residual = y.clone() if start is None else y - self.A(self.At(u)) - alpha * u
        direction = self._precondition(residual, alpha)
        rho = (residual * direction).sum((-2, -1), keepdim=True)
        scale = y.square().sum((-2, -1), keepdim=True).clamp_min(1e-300)
        for step in range(steps + 1):
            ratio = float((residual.square().sum((-2, -1), keepdim=True) / scale).max().sqrt())
            if on_step:
                on_step(step, max(math.log10(max(ratio, 1e-300) / tolerance), 0.0))
            if ratio <= tolerance or step == steps:
                break
            applied = self.A(self.At(direction)) + alpha * direction
            size = rho / (direction * applied).sum((-2, -1), keepdim=True).clamp_min(1e-300)
            u = u + size * direction
            residual = residual - size * applied
            preconditioned = self._precondition(residual, alpha)
            rho_next = (residual * preconditioned).sum((-2, -1), keepdim=True)
            direction = preconditioned + (rho_next / rho.clamp_min(1e-300)) * direction
            rho = rho_next
        return u

    def A_pinv(self, y: torch.Tensor) -> torch.Tensor:
        """``Aᵀ u`` with ``AAᵀ u = y`` solved by preconditioned conjugate gradients (per image and channel)."""
        return self.At(self._solve(y))

    def relaxed(self, z: torch.Tensor, y: torch.Tensor, sigma: float) -> torch.Tensor:
        """``z + Aᵀ(AAᵀ + α)⁻¹(y − Az)`` for this (non-circular) operator, ``α`` by the discrepancy principle
        (residual root mean square ``sigma``): :meth:`relaxer` for one ``z``; ``sigma = 0`` is :meth:`project`.

        Example:
            >>> from srcli.maths.blur_kernels import gaussian_kernel
            >>> op = ReflectBlur(gaussian_kernel(1.5, 1.5, 0), 1, 24, 24)
            >>> x = torch.rand(1, 1, 24, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
            >>> noise = torch.randn(1, 1, 24, 24, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
            >>> y = op.A(x) + 0.02 * noise
            >>> residual = y - op.A(op.relaxed(torch.zeros_like(x), y, 0.02))
            >>> abs(float(residual.square().mean().sqrt()) / 0.02 - 1) < DISCREPANCY_TOLERANCE
            True
        """
        return self.relaxer(y, sigma)(z)

    def relaxer(self, y: torch.Tensor, sigma: float, on_step: Progress | None = None) -> Relaxer:
        """The relaxed projection onto ``y`` ``(N, C, h, w)`` at noise level ``sigma``, as a function of ``z``
        ``(N, C, H, W)``, for one ``z`` or several in turn (:func:`srcli.maths.in_range.relaxed_in_range`).

        The first ``α`` comes from the circular operator on the residual zero-padded to its grid (a later call
        starts from the last call's ``α`` and ``u``); then up to :data:`DISCREPANCY_STEPS` secant steps in
        ``log α`` on the true residual ``α u`` until it is within :data:`DISCREPANCY_TOLERANCE` of ``sigma``.
        ``on_step`` is called after every conjugate-gradient step (:data:`Progress`), the plan forecast from
        the steps a decade of residual has taken so far; ``sigma = 0`` is :meth:`project`.
        """
        if sigma <= 0:
            return lambda z: self.project(z, y)
        last: tuple[float, torch.Tensor] | None = None  # the last call's α and u: the next call starts there
        done = 0

        def counted(later: float) -> Callable[[int, float], None]:
            """A solve's ``on_step``: ``later`` decades of solves still to come after it are forecast too."""
            first = [0.0]

            def tick(step: int, left: float) -> None:
                nonlocal done
                if step == 0:
                    first[0] = left
                    return
                done += 1
                per_decade = step / max(first[0] - left, 0.1)
                if on_step:
                    on_step(done, done + max(math.ceil((left + later) * per_decade), 1))

            return tick

        def relax(z: torch.Tensor) -> torch.Tensor:
            nonlocal last
            r = y - self.A(z)
            alpha, start = last if last is not None else (self._circular_alpha(r, sigma), None)
            previous: list[torch.Tensor | None] = [start]  # each solve starts from the last one's u
            final = math.log10(SEARCH_TOLERANCE / RELAXED_TOLERANCE)

            def solved(alpha: float) -> tuple[torch.Tensor, float]:
                """``u`` for this ``α`` and the log of the residual ``α u``'s root mean square over ``sigma``
                (increasing in ``α``, also where the gradients have not converged)."""
                u = self._solve(r, alpha, previous[0], SEARCH_TOLERANCE, SEARCH_STEPS, counted(final))
                previous[0] = u
                return u, math.log(max(float((alpha * u).square().mean().sqrt()), 1e-300) / sigma)

            tolerance = RELAXED_TOLERANCE if last is None else ROUND_TOLERANCE
            u, error = solved(alpha)
            alpha = _secant_alpha(alpha, error, solved)
            u = self._solve(r, alpha, previous[0], tolerance, on_step=counted(0.0))
            last = (alpha, u)
            return z + self.At(u)

        return relax

    def _circular_alpha(self, r: torch.Tensor, sigma: float) -> float:
        """The discrepancy's ``α`` for the circular operator on ``r`` zero-padded to its grid (at least
        :data:`ALPHA_FLOOR`): the first guess of :meth:`relaxer`."""
        spectrum = torch.fft.fft2(self._embed(r))
        values = (1.0 / self.circular._inverse).to(r.device).expand(spectrum.shape)
        padded_share = math.sqrt(r.shape[-2] * r.shape[-1] / (spectrum.shape[-2] * spectrum.shape[-1]))
        count = spectrum.shape[-2] * spectrum.shape[-1]
        return max(_discrepancy_alpha(spectrum.abs() / math.sqrt(count), values, sigma * padded_share), ALPHA_FLOOR)

    def __repr__(self) -> str:
        return f"ReflectBlur(kernel={tuple(self.circular.kernel.shape)}, scale={self.scale})"
