"""Degradation specs (``box``, ``bicubic``, ``gaussian:σ``, ``motion:9,30``, a kernel file, ...): their parsing,
their kernel and operator, and the downsample they name, for ``degrade``, ``check`` and SR under a known
degradation: box (the PD operator), Pillow's filters, and the separable degradations of
:mod:`srcli.maths.degradations` (``bicubic-matlab``, ``gaussian:σ``).

Each gives both the float result (for the float64 consistency PSNR, no rounding) and the
result rounded the way an image file stores it (for byte-exact comparison).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from srcli.errors import OptionError
from srcli.io.kernel_files import KERNEL_FILES, read_kernel_file
from srcli.io.pillow_resize import PILLOW_FILTERS, pillow_float, pillow_rounded
from srcli.maths.blur_kernels import gaussian_kernel, motion_kernel
from srcli.maths.box import box_float, box_rounded
from srcli.maths.degradations import ReflectBlur, Resize, interior_kernel

DOWNSAMPLERS = ("box", *PILLOW_FILTERS, "bicubic-matlab")
"""What ``check`` tries when asked for ``auto``; ``gaussian:σ`` needs its σ and is never guessed."""


MAX_KERNEL = 129
"""The largest kernel side srcli takes, HR pixels."""


def _numbers(spec: str, argument: str, count: int, shape: str) -> list[float]:
    try:
        values = [float(part) for part in argument.split(",")]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise OptionError(f"{spec!r}: expected {shape}")
    return values


def parse_spec(spec: str) -> tuple[str, float | None]:
    """A downsampler spec → ``(kind, sigma)``: ``box``, ``bicubic``, ``bilinear``, ``lanczos``,
    ``bicubic-matlab`` or ``gaussian:σ`` (σ in HR pixels, positive and finite), all separable; or
    ``kernel`` for ``gaussian:σx,σy,θ``, ``motion:length,θ`` (HR pixels, degrees) and a kernel file
    (``.png`` or ``.npy``), blurred with mirrored borders (:class:`srcli.maths.degradations.ReflectBlur`)."""
    kind, _, argument = spec.partition(":")
    if spec.lower().endswith(KERNEL_FILES) or (kind == "motion") or (kind == "gaussian" and "," in argument):
        kernel_of(spec)  # refuses a bad one now, in one line
        return "kernel", None
    if kind == "gaussian":
        try:
            sigma = float(argument)
        except ValueError:
            raise OptionError(f"gaussian needs its width in HR pixels, as gaussian:1.6, got {spec!r}") from None
        if not 0 < sigma < 1e3:
            raise OptionError(f"gaussian:σ needs 0 < σ < 1000 HR pixels, got {argument}")
        return kind, sigma
    if argument or kind not in DOWNSAMPLERS:
        raise OptionError(f"unknown downsampler {spec!r}; use one of {', '.join(DOWNSAMPLERS)} or gaussian:σ")
    return kind, None


def kernel_of(spec: str) -> torch.Tensor:
    """The 2-D kernel of a ``kernel`` spec (see :func:`parse_spec`), summing to 1."""
    kind, _, argument = spec.partition(":")
    if kind == "motion":
        length, theta = _numbers(spec, argument, 2, "motion:length,angle (HR pixels, degrees), as motion:9,30")
        if not 1 <= length <= MAX_KERNEL - 4:
            raise OptionError(f"{spec!r}: the motion length must be in [1, {MAX_KERNEL - 4}] HR pixels")
        kernel = motion_kernel(length, theta)
    elif kind == "gaussian":
        sx, sy, theta = _numbers(spec, argument, 3, "gaussian:σx,σy,angle (HR pixels, degrees)")
        if not (0 < sx <= MAX_KERNEL / 6 and 0 < sy <= MAX_KERNEL / 6):
            raise OptionError(f"{spec!r}: σx and σy must be in (0, {MAX_KERNEL / 6:.0f}] HR pixels")
        kernel = gaussian_kernel(sx, sy, theta)
    else:
        kernel = read_kernel_file(Path(spec))
    if max(kernel.shape) > MAX_KERNEL:
        raise OptionError(f"{spec!r}: kernel {tuple(kernel.shape)} is larger than {MAX_KERNEL}×{MAX_KERNEL}")
    return kernel


def operator_for(spec: str, scale: int, height: int, width: int) -> Resize | ReflectBlur:
    """The linear operator of a projectable degradation spec for an HR image ``height × width``."""
    kind, _ = projectable(spec)
    if kind == "kernel":
        try:
            return ReflectBlur(kernel_of(spec), scale, height, width)
        except ValueError as error:
            raise OptionError(f"{spec!r}: {error}") from None
    return separable(spec, scale, height, width)


def degradation_kernel(spec: str, scale: int) -> torch.Tensor:
    """The 2-D kernel (float64, summing to 1) of a projectable degradation spec at ×``scale``, for a network
    that takes the kernel: a kernel spec's own, a separable one's interior kernel
    (:func:`srcli.maths.degradations.interior_kernel`: the same degradation away from the border)."""
    kind, sigma = projectable(spec)
    return kernel_of(spec) if kind == "kernel" else interior_kernel(kind, scale, sigma)


def projectable(spec: str) -> tuple[str, float | None]:
    """:func:`parse_spec` for a degradation srcli can project under (not Pillow's bilinear or lanczos)."""
    kind, sigma = parse_spec(spec)
    if kind in ("bilinear", "lanczos"):
        raise OptionError(f"{kind} is measured by check but has no projection; use box, bicubic or gaussian:σ")
    return kind, sigma


def separable(spec: str, scale: int, height: int, width: int) -> Resize:
    """The linear operator of a degradation spec for an HR image ``height × width`` (box, bicubic as
    Pillow, bicubic-matlab, gaussian:σ)."""
    kind, sigma = projectable(spec)
    if kind == "kernel":
        raise OptionError(f"{spec!r} is not separable")
    return Resize.of(kind, scale, height, width, sigma)


def downsample_float(channels: torch.Tensor, scale: int, method: str) -> torch.Tensor:
    """``(C, s·h, s·w)`` → float64 ``(C, h, w)`` by ``method`` (a spec of :func:`parse_spec`)."""
    kind, _ = parse_spec(method)
    if kind == "box":
        return box_float(channels, scale)
    h, w = channels.shape[1] // scale, channels.shape[2] // scale
    if kind in PILLOW_FILTERS:
        return pillow_float(channels, (w, h), kind)
    operator = operator_for(method, scale, channels.shape[1], channels.shape[2])
    return operator.A(channels.to(torch.float64).unsqueeze(0))[0]


def downsample_rounded(channels: torch.Tensor, scale: int, method: str, bit_depth: int) -> torch.Tensor:
    """``(C, s·h, s·w)`` → int32 ``(C, h, w)`` by ``method``, rounded as a file stores it (half up for
    srcli's own operators)."""
    kind, _ = parse_spec(method)
    if kind == "box":
        return box_rounded(channels, scale)
    h, w = channels.shape[1] // scale, channels.shape[2] // scale
    if kind in PILLOW_FILTERS:
        return pillow_rounded(channels, (w, h), kind, bit_depth)
    rounded = torch.floor(downsample_float(channels, scale, method) + 0.5)
    return rounded.clamp(0, (1 << bit_depth) - 1).to(torch.int32)
