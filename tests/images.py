"""Small images made in the tests: every mode srcli reads, with metadata."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import png
import torch
from PIL import Image, ImageCms

from srcli.io.images import tensor_to_pil


def random_channels(generator: torch.Generator, channels: int, height: int, width: int, max_value: int = 255):
    return torch.randint(0, max_value + 1, (channels, height, width), generator=generator, dtype=torch.int32)


@functools.cache
def srgb_profile() -> bytes:
    """One sRGB profile for the whole session (its header holds the time it was made, so two
    calls a second apart would differ)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def save_8bit(path: Path, channels: torch.Tensor, **options) -> Path:
    tensor_to_pil(channels).save(path, **options)
    return path


def save_png16(path: Path, channels: torch.Tensor, alpha: bool = False) -> Path:
    planes, height, width = channels.shape
    rows = channels.permute(1, 2, 0).reshape(height, width * planes).numpy().astype(np.uint16)
    buffer = io.BytesIO()
    png.Writer(width, height, greyscale=planes in (1, 2), alpha=alpha, bitdepth=16).write(buffer, rows)
    path.write_bytes(buffer.getvalue())
    return path


def pillow_channels(path: Path) -> torch.Tensor:
    """What Pillow itself reads from an 8-bit file, as ``(C, H, W)`` int32."""
    with Image.open(path) as image:
        array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.astype(np.int32)).permute(2, 0, 1)


def training_folders(root: Path, train_images: list[torch.Tensor], val_image: torch.Tensor) -> tuple[Path, Path]:
    """``root/train`` holding ``train_images`` and ``root/val`` holding ``val_image``, as 8-bit PNGs."""
    train, val = root / "train", root / "val"
    train.mkdir()
    val.mkdir()
    for index, image in enumerate(train_images):
        save_8bit(train / f"t{index}.png", image)
    save_8bit(val / "v.png", val_image)
    return train, val
