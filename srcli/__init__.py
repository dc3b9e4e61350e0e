"""srcli: image restoration whose saved files are exactly consistent with their input.

The Python API: ``__all__`` is what stays stable; every other module of ``srcli`` is private.

* On PIL images, as the command line does them: :func:`upscale`, :func:`colorize`, :func:`check`, :func:`project`.
* The torch pieces to train with: the degradation operators (:class:`AvgPool`, :class:`Gray`, :class:`BlockCS`,
  :class:`Resize`, :class:`BlurDecimate`, all :class:`LinearOperator`), PD around any network
  (:class:`PDWrapper`, an ``nn.Module``) and the exact quantiser (:func:`quantize_sr`).
* The errors: :class:`SrcliError` and its kinds.

``import srcli`` imports neither torch nor Pillow: each name loads what it needs when first used (PEP 562).
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from srcli._version import __version__
from srcli.errors import ImageError, MeasurementError, ModelError, OptionError, SrcliError, TrainError

if TYPE_CHECKING:
    from PIL import Image

    from srcli.maths.degradations import BlurDecimate, Resize
    from srcli.maths.exact import quantize_sr
    from srcli.maths.operators import AvgPool, BlockCS, Gray, LinearOperator, PDWrapper

# torch warns at import when NumPy is absent; srcli never needs NumPy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

__all__ = [
    "AvgPool",
    "BlockCS",
    "BlurDecimate",
    "Gray",
    "ImageError",
    "LinearOperator",
    "MeasurementError",
    "ModelError",
    "OptionError",
    "PDWrapper",
    "Resize",
    "SrcliError",
    "TrainError",
    "__version__",
    "check",
    "colorize",
    "project",
    "quantize_sr",
    "upscale",
]

_LAZY = {
    "AvgPool": "srcli.maths.operators",
    "BlockCS": "srcli.maths.operators",
    "Gray": "srcli.maths.operators",
    "LinearOperator": "srcli.maths.operators",
    "PDWrapper": "srcli.maths.operators",
    "BlurDecimate": "srcli.maths.degradations",
    "Resize": "srcli.maths.degradations",
    "quantize_sr": "srcli.maths.exact",
}
"""The torch pieces of ``__all__`` and where they live, imported on first use."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'srcli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def upscale(
    image: Image.Image,
    scale: int | None = 4,
    model: str | None = None,
    *,
    realism: float | None = None,
    degradation: str = "box",
    noise: float = 0.0,
    device: str = "auto",
    tile: int | None = None,
    tile_overlap: int | None = None,
    half: bool = False,
    pd: bool = True,
    ensemble: bool = False,
) -> Image.Image:
    """Upscale ``image`` ×``scale`` (2 to 8; None: the model's own) with ``model`` (a shipped name or a checkpoint
    path; None: the shipped models), as ``srcli upscale`` does: the result's s×s box means (or ``degradation``'s
    downsample) equal ``image`` exactly, alpha and 16-bit gray too.

    ``realism`` in [0, 1] blends the PSNR model with the realistic one; ``degradation`` (``box``, ``bicubic``,
    ``bicubic-matlab``, ``gaussian:σ``, or with a kernel-conditioned model a kernel spec) says how ``image`` was
    made; ``noise`` its noise level (levels). ``device``: ``auto``, ``cpu``, ``cuda`` or ``mps``; ``tile``: tile
    side in LR pixels (None: automatic, 0: whole); ``pd=False`` is the bare network (an ablation).
    Raises :class:`SrcliError` for an unusable image, option or model.
    """
    from srcli.tasks.in_memory import upscale_image

    return upscale_image(
        image, scale, model, realism, degradation, noise,
        device=device, tile=tile, tile_overlap=tile_overlap, half=half, pd=pd, ensemble=ensemble,
    )  # fmt: skip


def colorize(
    image: Image.Image,
    model: str | None = None,
    *,
    gray: str = "mean",
    temperature: float | None = None,
    saturation: float | None = None,
    vividness: float | None = None,
    device: str = "auto",
    tile: int | None = None,
    tile_overlap: int | None = None,
    half: bool = False,
    pd: bool = True,
) -> Image.Image:
    """Colorize ``image`` (made gray first if it has colour), as ``srcli colorize`` does: the result's gray
    (``gray="mean"``: its channel mean; ``"bt601"``: Pillow's ``convert("L")``) is ``image``'s gray exactly.
    ``temperature`` (0.01 to 100, lower is more colourful) and ``saturation`` (0 to 10) tune the colours, or
    ``vividness`` (0: the model's calibrated colours, to 1: bold) both at once."""
    from srcli.tasks.in_memory import colorize_image

    return colorize_image(
        image, model, gray, temperature, saturation, vividness,
        device=device, tile=tile, tile_overlap=tile_overlap, half=half, pd=pd,
    )  # fmt: skip


def check(sr: Image.Image, lr: Image.Image, scale: int | None = None, downsampler: str = "auto") -> dict[str, Any]:
    """How consistent ``sr`` is with ``lr``, as ``srcli check --json`` reports it: ``scale`` (None: from the
    sizes), ``downsampler`` (``auto``: the one of box, bicubic, bilinear, lanczos, bicubic-matlab that explains
    ``lr`` best), ``consistency_psnr_db`` (float64 PSNR of the downsampled ``sr`` against ``lr``; None when
    equal), ``consistency_exact`` (equal byte for byte once rounded as ``lr`` is stored), ``max_abs_error``
    (levels), and ``downsamplers``: the same figures for each downsampler tried."""
    from srcli.tasks.in_memory import check_images_in_memory

    return check_images_in_memory(sr, lr, scale, downsampler)


def project(sr: Image.Image, lr: Image.Image) -> Image.Image:
    """PD without a network: the image nearest ``sr`` whose s×s box means equal ``lr`` exactly, in integers
    (``sr`` is exactly ``s`` times ``lr``'s size, in the same mode: 8-bit, or 16-bit gray). Any upscaler's
    result becomes consistent with its input this way; ``check(project(sr, lr), lr)`` is exact."""
    from srcli.tasks.in_memory import project_image

    return project_image(sr, lr)
