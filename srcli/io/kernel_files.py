"""Blur kernel files: a 2-D image (8 or 16 bits, or float) or a NumPy ``.npy`` array, normalised to sum to 1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srcli.errors import OptionError

KERNEL_FILES = (".png", ".npy")
"""The suffixes a kernel file may have."""


def read_kernel_file(path: Path) -> torch.Tensor:
    """The kernel in ``path`` as float64 ``(h, w)`` summing to 1; refuses a missing, non-2-D, non-finite or
    non-positive one in one line."""
    if not path.is_file():
        raise OptionError(f"kernel file not found: {path}")
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            with Image.open(path) as image:
                array = np.asarray(image.convert("F") if image.mode not in ("I;16", "I") else image, dtype=np.float64)
    except (OSError, ValueError) as error:
        raise OptionError(f"{path}: not a kernel image or NumPy array ({error})") from None
    if array.ndim != 2:
        raise OptionError(f"{path}: a kernel must be 2-D, this one has shape {array.shape}")
    kernel = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float64))
    if not torch.isfinite(kernel).all():
        raise OptionError(f"{path}: the kernel holds NaN or infinite values")
    if not float(kernel.sum()) > 0:
        raise OptionError(f"{path}: the kernel's values must have a positive sum")
    return kernel / kernel.sum()
