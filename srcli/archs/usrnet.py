"""USRNet (Zhang, Van Gool, Timofte, CVPR 2020): a deep unfolding network for y = (x ⊛ k)↓s + n.

K iterations of a closed-form data step (the degradation's projection relaxed by ``α_k``) and a learned
prior step (a ResUNet conditioned on ``β_k``); ``α_k, β_k`` come from a small MLP fed with the noise
level and the scale. One network serves every scale (1 is deblurring), kernel and noise level.

State-dict layout as upstream (KAIR's ``models/network_usrnet.py``, strideconv down, convtranspose up,
ReLU, no biases in the prior), so its ``usrnet.pth`` (64-128-256-512, 8 iterations, 17.02 M parameters)
and ``usrnet_tiny.pth`` (16-32-64-64, 6 iterations, 0.59 M), converted to safetensors, load with
``strict=True``::

    p.m_head                                Conv2d(in_nc, nc0, 3)                    (no bias, as all of p)
    p.m_down{1,2,3}.{0..nb-1}.res.{0,2}     residual blocks at nc_{i-1}
    p.m_down{1,2,3}.{nb}                    Conv2d(nc_{i-1}, nc_i, 2, stride 2)
    p.m_body.{0..nb-1}.res.{0,2}            residual blocks at nc3 (``p.m_body.res`` when nb = 1)
    p.m_up{3,2,1}.0                         ConvTranspose2d(nc_i, nc_{i-1}, 2, stride 2)
    p.m_up{3,2,1}.{1..nb}.res.{0,2}         residual blocks at nc_{i-1}
    p.m_tail                                Conv2d(nc0, out_nc, 3)
    h.mlp.{0,2,4}                           1×1 convolutions 2 → h_nc → h_nc → 2·n_iter (ReLU, softplus)

Degradation convention: srcli's (:class:`srcli.maths.degradations.BlurDecimate`): circular convolution with the
kernel centred on pixel ``(kh // 2, kw // 2)``, then every s-th pixel from offset ``s // 2``. Upstream keeps
offset 0; its kernels shifted by ``s // 2`` pixels are the same degradation, and the prior is
shift-equivariant, so its weights serve either convention.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

GLOBAL_RADIUS = 1 << 16
"""The receptive radius srcli states for USRNet: its data step is an FFT over the whole image."""


def kernel_spectrum(kernel: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The DFT of ``kernel`` ``(N, 1, kh, kw)`` zero-padded to ``height × width`` with its centre pixel
    ``(kh // 2, kw // 2)`` rolled to ``(0, 0)``: ``(N, 1, height, width)`` complex.

    Example:
        >>> spectrum = kernel_spectrum(torch.tensor([[[[0.0, 1.0, 0.0]]]]), 4, 4)
        >>> bool(torch.allclose(spectrum, torch.ones(1, 1, 4, 4, dtype=torch.complex64)))
        True
    """
    kh, kw = kernel.shape[-2:]
    padded = kernel.new_zeros(*kernel.shape[:-2], height, width)
    padded[..., :kh, :kw] = kernel
    return torch.fft.fft2(padded.roll((-(kh // 2), -(kw // 2)), dims=(-2, -1)))


class CircularDegradation:
    """``A(x) = (x ⊛ k)[o::s, o::s]`` (``o = s // 2``) with one kernel per image, and its closed-form data
    step, for HR images of ``height × width`` (multiples of ``scale``). Batched, differentiable, any dtype.

    ``AAᵀ`` is diagonal in the LR Fourier domain: the mean of ``|K|²`` over the ``s²`` frequencies that
    alias onto each LR frequency (USRNet's closed form).

    Example:
        >>> kernel = torch.rand(2, 1, 5, 5, dtype=torch.float64)
        >>> kernel = kernel / kernel.sum((-2, -1), keepdim=True)
        >>> degradation = CircularDegradation(kernel, 2, 16, 16)
        >>> z, y = torch.rand(2, 3, 16, 16, dtype=torch.float64), torch.rand(2, 3, 8, 8, dtype=torch.float64)
        >>> x = degradation.step(z, y, torch.full((2, 1, 1, 1), 1e-12, dtype=torch.float64))
        >>> bool(torch.allclose(degradation.A(x), y, atol=1e-6))
        True
    """

    def __init__(self, kernel: torch.Tensor, scale: int, height: int, width: int) -> None:
        s = self.scale = scale
        full = kernel_spectrum(kernel, height, width)
        self.spectrum = full[..., : width // 2 + 1]  # the half rfft2 keeps
        aliased = full.abs().square().unflatten(-2, (s, height // s)).unflatten(-1, (s, width // s))
        self.eigenvalues = aliased.mean(dim=(-4, -2))[..., : width // s // 2 + 1]  # (N, 1, h, w // 2 + 1)

    def A(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` → ``(N, C, H / s, W / s)``."""
        blurred = torch.fft.irfft2(torch.fft.rfft2(x) * self.spectrum, s=x.shape[-2:])
        return blurred[..., self.scale // 2 :: self.scale, self.scale // 2 :: self.scale]

    def At(self, y: torch.Tensor) -> torch.Tensor:
        """The adjoint: zeros between the sampled pixels, then correlation with ``k``."""
        s = self.scale
        up = y.new_zeros(*y.shape[:-2], y.shape[-2] * s, y.shape[-1] * s)
        up[..., s // 2 :: s, s // 2 :: s] = y
        return torch.fft.irfft2(torch.fft.rfft2(up) * self.spectrum.conj(), s=up.shape[-2:])

    def step(self, z: torch.Tensor, y: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """``argmin_x ‖y − A x‖² + α ‖x − z‖² = z + Aᵀ(AAᵀ + α)⁻¹(y − A z)``: ``z`` ``(N, C, H, W)``,
        ``y`` ``(N, C, H / s, W / s)``, ``α`` ``(N, 1, 1, 1)`` > 0; as ``α → 0`` the projection onto
        ``{x : A x = y}``."""
        residual = torch.fft.rfft2(y - self.A(z)) / (self.eigenvalues + alpha)
        return z + self.At(torch.fft.irfft2(residual, s=y.shape[-2:]))


class ResBlock(nn.Module):
    """``x + conv(relu(conv(x)))``, 3×3, no bias (upstream's ``ResBlock(mode='CRC')``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.res = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res(x)


def _blocks(channels: int, count: int) -> list[nn.Module]:
    return [ResBlock(channels) for _ in range(count)]


class ResUNet(nn.Module):
    """The prior step: ``(N, in_nc, H, W)`` → ``(N, out_nc, H, W)``, three ×2 levels (sides padded to a
    multiple of 8 by replication inside, cropped back); no skip from input to output, as upstream."""

    def __init__(self, in_nc: int, out_nc: int, nc: Sequence[int], nb: int) -> None:
        super().__init__()
        c0, c1, c2, c3 = nc
        self.m_head = nn.Conv2d(in_nc, c0, 3, 1, 1, bias=False)
        self.m_down1 = nn.Sequential(*_blocks(c0, nb), nn.Conv2d(c0, c1, 2, 2, 0, bias=False))
        self.m_down2 = nn.Sequential(*_blocks(c1, nb), nn.Conv2d(c1, c2, 2, 2, 0, bias=False))
        self.m_down3 = nn.Sequential(*_blocks(c2, nb), nn.Conv2d(c2, c3, 2, 2, 0, bias=False))
        self.m_body = nn.Sequential(*_blocks(c3, nb)) if nb > 1 else ResBlock(c3)  # upstream unwraps one module
        self.m_up3 = nn.Sequential(nn.ConvTranspose2d(c3, c2, 2, 2, 0, bias=False), *_blocks(c2, nb))
        self.m_up2 = nn.Sequential(nn.ConvTranspose2d(c2, c1, 2, 2, 0, bias=False), *_blocks(c1, nb))
        self.m_up1 = nn.Sequential(nn.ConvTranspose2d(c1, c0, 2, 2, 0, bias=False), *_blocks(c0, nb))
        self.m_tail = nn.Conv2d(c0, out_nc, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        x = F.pad(x, (0, -width % 8, 0, -height % 8), mode="replicate")
        x1 = self.m_head(x)
        x2 = self.m_down1(x1)
        x3 = self.m_down2(x2)
        x4 = self.m_down3(x3)
        x = self.m_body(x4)
        x = self.m_up3(x + x4)
        x = self.m_up2(x + x3)
        x = self.m_up1(x + x2)
        return self.m_tail(x + x1)[..., :height, :width]


class HyPaNet(nn.Module):
    """``(N, 2, 1, 1)`` (noise level in [0, 1] units, scale) → ``(N, 2·n_iter, 1, 1)`` positive
    (``α_1..α_n`` then ``β_1..β_n``)."""

    def __init__(self, in_nc: int, out_nc: int, channel: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Conv2d(in_nc, channel, 1, 1, 0),
            nn.ReLU(inplace=True),
            nn.Conv2d(channel, channel, 1, 1, 0),
            nn.ReLU(inplace=True),
            nn.Conv2d(channel, out_nc, 1, 1, 0),
            nn.Softplus(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x) + 1e-6


class USRNet(nn.Module):
    """``(y, kernel, scale, sigma)`` → the HR estimate.

    ``y`` ``(N, 3, h, w)`` in [0, 1]; ``kernel`` ``(N or 1, 1, kh, kw)`` summing to 1 (kh ≤ s·h, kw ≤ s·w);
    ``scale`` an integer ≥ 1; ``sigma`` ``(N or 1, 1, 1, 1)``, the noise level in [0, 1] units
    (levels / 255). Returns ``(N, 3, s·h, s·w)``, unclamped. The first estimate is the nearest upsampling
    of ``y``; each iteration is :meth:`CircularDegradation.step` with ``α_k``, then the prior with ``β_k``.
    """

    input_multiple = 1

    def __init__(
        self, n_iter: int = 6, h_nc: int = 32, in_nc: int = 4, out_nc: int = 3,
        nc: Sequence[int] = (16, 32, 64, 64), nb: int = 2,
    ) -> None:  # fmt: skip
        super().__init__()
        if len(nc) != 4:
            raise ValueError(f"USRNet's ResUNet has 4 levels of channels, got {list(nc)}")
        self.n_iter, self.h_nc, self.in_nc, self.out_nc, self.nc, self.nb = n_iter, h_nc, in_nc, out_nc, list(nc), nb
        self.num_feat = self.nc[0]
        self.p = ResUNet(in_nc, out_nc, nc, nb)
        self.h = HyPaNet(2, 2 * n_iter, h_nc)

    def forward(self, y: torch.Tensor, kernel: torch.Tensor, scale: int, sigma: torch.Tensor) -> torch.Tensor:
        count, height, width = y.shape[0], y.shape[-2] * scale, y.shape[-1] * scale
        degradation = CircularDegradation(kernel.to(y.dtype), scale, height, width)
        sigma = sigma.to(y.dtype).expand(count, 1, 1, 1)
        weights = self.h(torch.cat((sigma, torch.full_like(sigma, float(scale))), dim=1))
        x = F.interpolate(y, scale_factor=scale, mode="nearest") if scale > 1 else y
        for i in range(self.n_iter):
            x = degradation.step(x, y, weights[:, i : i + 1])
            beta = weights[:, self.n_iter + i : self.n_iter + i + 1].expand(count, 1, height, width)
            x = self.p(torch.cat((x, beta), dim=1))
        return x

    @property
    def config(self) -> dict[str, object]:
        return {"n_iter": self.n_iter, "h_nc": self.h_nc, "in_nc": self.in_nc, "out_nc": self.out_nc,
                "nc": self.nc, "nb": self.nb}  # fmt: skip


def is_usrnet(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """True for a state dict in USRNet's layout: the prior under ``p.`` and the MLP under ``h.mlp.``, nothing else."""
    return {
        "p.m_head.weight",
        "p.m_tail.weight",
        "p.m_down1.0.res.0.weight",
        "h.mlp.0.weight",
        "h.mlp.4.weight",
    } <= state_dict.keys() and all(key.startswith(("p.m_", "h.mlp.")) for key in state_dict)


def usrnet_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> USRNet:
    """Build a USRNet whose sizes (channels per level, blocks, iterations, MLP width) come from the shapes."""
    nb = len({key.split(".")[2] for key in state_dict if key.startswith("p.m_down1.") and ".res." in key})
    head = state_dict["p.m_head.weight"]
    downs = [state_dict[f"p.m_down{level}.{nb}.weight"] for level in (1, 2, 3)]
    nc = [head.shape[0], *(int(down.shape[0]) for down in downs)]
    last = state_dict["h.mlp.4.weight"]
    if last.shape[0] % 2:
        raise ValueError(f"h.mlp.4 gives {last.shape[0]} hyper-parameters: not 2 per iteration")
    return USRNet(
        n_iter=last.shape[0] // 2, h_nc=int(state_dict["h.mlp.0.weight"].shape[0]), in_nc=int(head.shape[1]),
        out_nc=int(state_dict["p.m_tail.weight"].shape[0]), nc=nc, nb=nb,
    )  # fmt: skip
