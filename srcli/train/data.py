"""Training data: the photos of a ``--data`` folder, random crops of them, the validation files."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from srcli.errors import TrainError, first_line
from srcli.io.images import pil_to_tensor
from srcli.io.testsets import image_files


def load_training_images(folder: Path, min_side: int, rescales: tuple[float, ...] = ()) -> list[torch.Tensor]:
    """Every image in ``folder`` as ``(3, H, W)`` uint8, and after each its copies resized by the
    factors in ``rescales`` (Lanczos); images with a side under ``min_side`` are left out, and a
    folder with none big enough is refused."""
    if not folder.is_dir():
        raise TrainError(f"training folder not found: {folder}")
    images = []
    for path in image_files(folder):
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            raise TrainError(f"cannot read training image {path}: {first_line(error)}") from None
        for copy in [rgb, *(_resized(rgb, factor) for factor in rescales)]:
            tensor = pil_to_tensor(copy)
            if min(tensor.shape[1:]) >= min_side:
                images.append(tensor)
    if not images:
        raise TrainError(f"no image of at least {min_side}×{min_side} pixels in {folder}")
    return images


def _resized(image: Image.Image, factor: float) -> Image.Image:
    width, height = (max(1, round(side * factor)) for side in image.size)
    return image.resize((width, height), Image.Resampling.LANCZOS)


def validation_files(folder: Path | None) -> list[Path]:
    """The images of a ``--val`` (or ``--calibrate``) folder; none without a folder, an error
    for a folder that is missing or has no image (found before training, not after it)."""
    if folder is None:
        return []
    if not folder.is_dir():
        raise TrainError(f"validation folder not found: {folder}")
    files = image_files(folder)
    if not files:
        raise TrainError(f"no image in validation folder {folder}")
    return files


def sample_batch(
    images: list[torch.Tensor], generator: torch.Generator, batch: int, hr_patch: int, align: int = 1
) -> torch.Tensor:
    """Random crops with random flips and transposes: ``(batch, C, P, P)`` float, from ``(C, H, W)``
    images (uint8, or float in [0, 255]); each crop starts at multiples of ``align``."""
    crops = []
    for _ in range(batch):
        image = images[int(torch.randint(len(images), (1,), generator=generator))]
        top = align * int(torch.randint((image.shape[1] - hr_patch) // align + 1, (1,), generator=generator))
        left = align * int(torch.randint((image.shape[2] - hr_patch) // align + 1, (1,), generator=generator))
        crop = image[:, top : top + hr_patch, left : left + hr_patch]
        flip_h, flip_v, transpose = torch.randint(2, (3,), generator=generator).tolist()
        if flip_h:
            crop = crop.flip(-1)
        if flip_v:
            crop = crop.flip(-2)
        if transpose:
            crop = crop.transpose(-1, -2)
        crops.append(crop)
    return torch.stack(crops).float()


def sample_pairs(
    images: list[torch.Tensor], lrs: list[torch.Tensor], generator: torch.Generator, batch: int, patch: int, scale: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random crops of LR photos ``lrs`` (``(C, h, w)``) and the HR ``images`` they were made from
    (``(C, s·h, s·w)``), on the scale grid, each pair with the same flips and transposes:
    ``(batch, C, patch, patch)`` and ``(batch, C, s·patch, s·patch)`` float."""
    low, high = [], []
    for _ in range(batch):
        index = int(torch.randint(len(images), (1,), generator=generator))
        lr, hr = lrs[index], images[index]
        top = int(torch.randint(lr.shape[1] - patch + 1, (1,), generator=generator))
        left = int(torch.randint(lr.shape[2] - patch + 1, (1,), generator=generator))
        pair = [lr[:, top : top + patch, left : left + patch],
                hr[:, scale * top : scale * (top + patch), scale * left : scale * (left + patch)]]  # fmt: skip
        flip_h, flip_v, transpose = torch.randint(2, (3,), generator=generator).tolist()
        for dims, chosen in (((-1,), flip_h), ((-2,), flip_v)):
            pair = [crop.flip(dims) for crop in pair] if chosen else pair
        if transpose:
            pair = [crop.transpose(-1, -2) for crop in pair]
        low.append(pair[0])
        high.append(pair[1])
    return torch.stack(low).float(), torch.stack(high).float()
