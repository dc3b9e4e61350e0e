"""Degradation operators and the projection to the data-consistent set (PD).

Every operator is a small stateless object with

* ``A(x)``: the degradation, HR ``(N, C, H, W)`` → measurement;
* ``A_pinv(y)``: a right inverse, ``A(A_pinv(y)) == y``;
* ``project(x_r, y)``: PD, ``A⁺y + (I − A⁺A) x_r``, so that ``A(project(x_r, y)) == y``
  for every ``x_r`` (up to float rounding);
* ``quantize(x_r, y, max_value)`` for operators whose measurements are integer images: PD onto the
  integers in ``[0, max_value]`` (:mod:`srcli.exact`), so that ``A(result) == y`` holds exactly.

Tensors are float32 or float64 on any device; nothing here changes ``self``.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from srcli.exact import quantize_gray_mean, quantize_gray_pillow, quantize_sr

MIN_SCALE, MAX_SCALE = 2, 16
GRAY_WEIGHTS = {"mean": (1 / 3, 1 / 3, 1 / 3), "bt601": (0.299, 0.587, 0.114)}


class LinearOperator:
    """Base class: PD from ``A`` and ``A_pinv`` (one line, by linearity).

    Example:
        >>> op = Gray("mean")
        >>> x, y = torch.rand(1, 3, 2, 2, dtype=torch.float64), torch.rand(1, 1, 2, 2, dtype=torch.float64)
        >>> torch.allclose(op.project(op.project(x, y), y), op.project(x, y))  # a projection: idempotent
        True
    """

    def A(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def A_pinv(self, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def project(self, x_r: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """PD: ``x_r + A⁺(y − A x_r)``, equal to ``A⁺y + (I − A⁺A) x_r``."""
        return x_r + self.A_pinv(y - self.A(x_r))

    def quantize(
        self, x_r: torch.Tensor, y: torch.Tensor, max_value: int, unit: float = 1.0, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Integers in ``[0, max_value]`` near ``project(x_r · unit, y)`` with ``A(result) == y`` exactly
        (``y`` integer); written to ``out`` when given. Only for operators that measure integer images."""
        raise NotImplementedError(f"{type(self).__name__} measures real values: use project")


class AvgPool(LinearOperator):
    """Super-resolution ×s: ``A`` is s×s box averaging, ``A⁺`` nearest replication.

    ``A``: ``(N, C, s·h, s·w)`` → ``(N, C, h, w)``; ``A_pinv``: the reverse.
    ``A_pinv`` is the Moore–Penrose pseudo-inverse, so PD is an orthogonal projection.

    Example:
        >>> op = AvgPool(4)
        >>> x = torch.rand(1, 3, 16, 16, dtype=torch.float64)
        >>> y = op.A(torch.rand_like(x))
        >>> torch.allclose(op.A(op.project(x, y)), y)
        True
    """

    def __init__(self, scale: int) -> None:
        if not isinstance(scale, int) or not MIN_SCALE <= scale <= MAX_SCALE:
            raise ValueError(f"scale must be an integer in [{MIN_SCALE}, {MAX_SCALE}], got {scale!r}")
        self.scale = scale

    def A(self, x: torch.Tensor) -> torch.Tensor:
        s = self.scale
        if x.shape[-1] % s or x.shape[-2] % s:
            raise ValueError(f"image size {tuple(x.shape[-2:])} is not a multiple of the scale {s}")
        return F.avg_pool2d(x, s)

    def A_pinv(self, y: torch.Tensor) -> torch.Tensor:
        s = self.scale
        return y.repeat_interleave(s, dim=-2).repeat_interleave(s, dim=-1)

    def quantize(
        self, x_r: torch.Tensor, y: torch.Tensor, max_value: int, unit: float = 1.0, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Exact PD onto integers: every s×s block mean of the result equals ``y``.

        Example:
            >>> y = torch.tensor([[[[10, 255]]]])
            >>> AvgPool(2).quantize(torch.rand(1, 1, 2, 4) * 255, y, 255).float().view(1, 1, 2, 2, 2).mean((2, 4))
            tensor([[[ 10., 255.]]])
        """
        return quantize_sr(x_r, y, self.scale, max_value, unit=unit, out=out)

    def __repr__(self) -> str:
        return f"AvgPool(scale={self.scale})"


class Gray(LinearOperator):
    """Colorization: ``A`` is a weighted sum of R, G, B; ``A⁺`` copies gray into R, G and B.

    ``A``: ``(N, 3, H, W)`` → ``(N, 1, H, W)``; ``A_pinv``: ``(N, 1, H, W)`` → ``(N, 3, H, W)``.
    Weights: ``mean`` (1/3 each, the seeds' operator; copy is then the pseudo-inverse) or
    ``bt601`` (0.299, 0.587, 0.114, what Pillow's ``convert("L")`` uses). The weights sum to
    1, so copying is a right inverse for both, and PD shifts the three channels of a pixel
    by the same amount: the chroma of ``x_r`` is kept exactly.

    Example:
        >>> x = torch.tensor([[[[0.2]], [[0.5]], [[0.8]]]], dtype=torch.float64)
        >>> Gray("mean").project(x, torch.tensor([[[[0.6]]]], dtype=torch.float64)).flatten().tolist()
        [0.3, 0.6, 0.9]
    """

    def __init__(self, mode: str = "mean") -> None:
        if mode not in GRAY_WEIGHTS:
            raise ValueError(f"gray mode must be one of {sorted(GRAY_WEIGHTS)}, got {mode!r}")
        self.mode = mode

    def _weights(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor(GRAY_WEIGHTS[self.mode], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)

    def A(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-3] != 3:
            raise ValueError(f"Gray.A needs 3 channels, got {x.shape[-3]}")
        return (x * self._weights(x)).sum(dim=-3, keepdim=True)

    def A_pinv(self, y: torch.Tensor) -> torch.Tensor:
        return y.expand(*y.shape[:-3], 3, *y.shape[-2:])

    def quantize(
        self, x_r: torch.Tensor, y: torch.Tensor, max_value: int, unit: float = 1.0, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Exact PD onto integer RGB: ``mean``: the channel mean equals ``y`` (8 or 16 bits); ``bt601``:
        Pillow's own ``convert("L")`` equals ``y`` (8 bits; Pillow's integer luma, not the float weights).

        Example:
            >>> from srcli.exact import pillow_luma
            >>> gray = torch.tensor([[[[0, 77, 255]]]])
            >>> rgb = Gray("bt601").quantize(torch.rand(1, 3, 1, 3) * 255, gray, 255)
            >>> torch.equal(pillow_luma(rgb), gray)
            True
        """
        estimate = x_r * unit if unit != 1.0 else x_r
        if self.mode == "mean":
            result = quantize_gray_mean(estimate, y, max_value)
        else:
            if max_value != 255:
                raise ValueError("Gray('bt601') is Pillow's 8-bit convert('L'): max_value must be 255")
            result = quantize_gray_pillow(estimate, y)
        if out is None:
            return result
        return out.copy_(result)

    def __repr__(self) -> str:
        return f"Gray(mode={self.mode!r})"


@functools.lru_cache(maxsize=8)
def sensing_rows(n: int, m: int, seed: int) -> torch.Tensor:
    """``(m, n)`` float64 orthonormal rows from a seeded Gaussian matrix through QR (positive
    diagonal of R, so the factorisation is unique). Cached: the QR takes about 0.3 s.

    Example:
        >>> rows = sensing_rows(64, 16, seed=0)
        >>> torch.allclose(rows @ rows.T, torch.eye(16, dtype=torch.float64))
        True
    """
    generator = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(n, m, generator=generator, dtype=torch.float64))
    return (q * torch.sign(torch.diagonal(r)).unsqueeze(0)).T.contiguous()


class BlockCS(LinearOperator):
    """Block compressed sensing: per ``block×block`` tile and channel, ``M`` orthonormal rows.

    ``M = round(ratio · block²)``. The rows come from a seeded Gaussian matrix through QR, so
    the same ``(ratio, block, seed)`` gives the same operator on every machine.
    ``A``: ``(N, C, b·h, b·w)`` → ``(N, C·M, h, w)`` (a strided convolution);
    ``A_pinv = Aᵀ`` (a transposed convolution), exact because the rows are orthonormal.

    Example:
        >>> op = BlockCS(0.25, block=8)
        >>> y = op.A(torch.rand(1, 3, 16, 24, dtype=torch.float64))
        >>> y.shape, torch.allclose(op.A(op.A_pinv(y)), y)
        (torch.Size([1, 48, 2, 3]), True)
    """

    def __init__(self, ratio: float, block: int = 32, seed: int = 0) -> None:
        if not 0 < ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1], got {ratio!r}")
        if block < 2:
            raise ValueError(f"block must be at least 2, got {block!r}")
        self.ratio, self.block, self.seed = ratio, block, seed
        self.m = max(1, round(ratio * block * block))
        self.rows = sensing_rows(block * block, self.m, seed)  # (M, n), orthonormal rows; shared, never modified

    def _kernel(self, like: torch.Tensor) -> torch.Tensor:
        return self.rows.to(like).view(self.m, 1, self.block, self.block)

    def A(self, x: torch.Tensor) -> torch.Tensor:
        b = self.block
        if x.shape[-1] % b or x.shape[-2] % b:
            raise ValueError(f"image size {tuple(x.shape[-2:])} is not a multiple of the block {b}")
        n, c, h, w = x.shape
        y = F.conv2d(x.reshape(n * c, 1, h, w), self._kernel(x), stride=b)
        return y.reshape(n, c * self.m, h // b, w // b)

    def A_pinv(self, y: torch.Tensor) -> torch.Tensor:
        n, cm, h, w = y.shape
        c = cm // self.m
        x = F.conv_transpose2d(y.reshape(n * c, self.m, h, w), self._kernel(y), stride=self.block)
        return x.reshape(n, c, h * self.block, w * self.block)

    def __repr__(self) -> str:
        return f"BlockCS(ratio={self.ratio}, block={self.block}, seed={self.seed}, m={self.m})"


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad ``(N, C, H, W)`` at the right and bottom by reflection (replicate when too small).

    Example:
        >>> pad_to_multiple(torch.arange(6.0).view(1, 1, 2, 3), 2)
        tensor([[[[0., 1., 2., 1.],
                  [3., 4., 5., 4.]]]])
    """
    h, w = x.shape[-2:]
    ph, pw = (math.ceil(h / multiple) * multiple - h), (math.ceil(w / multiple) * multiple - w)
    if not ph and not pw:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


class PDWrapper(nn.Module):
    """``x̂ = A⁺y + (I − A⁺A) net(y)``: the network only chooses the null-space part.

    ``forward``: measurement ``y`` → estimate ``x̂`` with ``A(x̂) == y`` (up to float rounding).

    Example:
        >>> pd = PDWrapper(nn.Upsample(scale_factor=2), AvgPool(2))
        >>> y = torch.rand(1, 3, 4, 4, dtype=torch.float64)
        >>> torch.allclose(AvgPool(2).A(pd(y)), y)
        True
    """

    def __init__(self, net: nn.Module, operator: LinearOperator) -> None:
        super().__init__()
        self.net, self.operator = net, operator

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.operator.project(self.net(y), y)
