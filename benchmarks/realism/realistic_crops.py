"""The README's picture of ×4 crops: bicubic | compact-x4 (PSNR) | realistic-x4 | Real-ESRGAN x4plus | HR.

    python benchmarks/realism/realistic_crops.py --realistic weights/realistic-x4.safetensors \
        --peer /path/to/realesrgan-x4plus.safetensors [--out benchmarks/results/realistic-crops.png]

LR is the box average of the HR photo (the protocol of ``shared/README.md``). bicubic is Pillow's;
the PSNR and realistic models run through ``srcli upscale``'s engine (PD, exact); x4plus is shown as
its users get it, bare (no PD), from a local copy of its weights (never shipped: converted by
``peers/ncnn_to_torch.py``). Each crop is taken from the whole upscale and shown at 2× (nearest).

The crops show where a GAN's false texture shows: flat and smooth areas (a plastered wall, a cloudy
sky, a baby's cheek), with one texture (baboon fur) for reference. They were chosen by subject from
the HR photos alone, before any model's output was looked at, and are not re-chosen after it.
Each panel is labelled; the first panel's label says which file and crop (HR left, top) it is.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from srcli.checkpoints.resolve import resolve
from srcli.io.images import Picture, tensor_to_pil
from srcli.io.testsets import protocol_pair
from srcli.tasks.bench import bicubic_upscale
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, ROOT

SCALE, SIDE, ZOOM, LABEL = 4, 96, 2, 18

# (subject, set, file, HR left, HR top): chosen from the HR photos before looking at any output
CROPS = [
    ("wall", "BSD68", "126007.png", 244, 180),  # the yellow plastered church tower, a window above
    ("sky", "BSD68", "3096.png", 150, 100),  # grey cloud around the bomber's wing tip
    ("skin", "Set5", "baby.png", 160, 200),  # the baby's cheek and nose, the lower eyelid above
    ("fur", "Set14", "baboon.png", 96, 272),  # texture, for reference
]


def panel(image: torch.Tensor, left: int, top: int) -> Image.Image:
    """The ``SIDE``² crop at (``left``, ``top``) of a ``(3, H, W)`` uint8 image, zoomed ``ZOOM``×."""
    crop = tensor_to_pil(image[:, top : top + SIDE, left : left + SIDE])
    return crop.resize((SIDE * ZOOM, SIDE * ZOOM), Image.Resampling.NEAREST)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psnr", default="compact-x4")
    parser.add_argument("--realistic", required=True, help="the realistic ×4 model (name or path)")
    parser.add_argument("--peer", type=Path, required=True, help="Real-ESRGAN x4plus weights (.safetensors)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "realistic-crops.png")
    args = parser.parse_args()
    torch.set_num_threads(1)

    models = {
        f"{args.psnr} (PSNR)": (resolve(args.psnr, "sr")[0], RunOptions()),
        f"{Path(args.realistic).stem} (PD)": (resolve(args.realistic, "sr")[0], RunOptions()),
        "x4plus (bare)": (resolve(str(args.peer), "sr")[0], RunOptions(pd=False, tile=64)),
    }
    columns = ["bicubic", *models, "HR"]
    width, row_height = SIDE * ZOOM, SIDE * ZOOM + LABEL
    sheet = Image.new("RGB", (width * len(columns), row_height * len(CROPS)), "white")
    draw = ImageDraw.Draw(sheet)
    for row, (subject, folder, name, left, top) in enumerate(CROPS):
        hr, lr = protocol_pair(BENCH / folder / name, SCALE)
        outputs = [bicubic_upscale(lr, SCALE)[0]]
        for model, options in models.values():
            outputs.append(upscale_picture(Picture(lr[0], None, 8), model, options).color)
        outputs.append(hr[0])
        for column, (label, image) in enumerate(zip(columns, outputs, strict=True)):
            sheet.paste(panel(image, left, top), (column * width, row * row_height + LABEL))
            caption = label if column else f"{label} · {subject}: {Path(name).stem} ({left},{top})"
            draw.text((column * width + 3, row * row_height + 3), caption, fill="black")
        print(f"{folder}/{name}: done", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(args.out)


if __name__ == "__main__":
    main()
