"""The README's JPEG picture: one crop of a ×4 upscale of a quality-40 JPEG, side by side.

Columns: the JPEG LR (nearest ×4), ``--degradation box`` (``--box-model``, pixel-exact PD onto the decoded LR),
the default JPEG path (``--jpeg-model`` on the file's bins), and the HR. Each crop is enlarged ×2 (nearest) so the
8×8 JPEG grid, 32×32 after ×4, shows.

    python benchmarks/jpeg/jpeg_crops.py --image ../shared/data/bench/BSD68/test001.png --box 160,96,96,96 \\
        --out benchmarks/results/jpeg-crops.png
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from srcli.checkpoints.resolve import resolve
from srcli.io.images import decode_picture, tensor_to_pil
from srcli.tasks.jpeg_input import jpeg_input
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_jpeg_picture, upscale_picture

SCALE, ZOOM, LABEL = 4, 2, 18


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", type=Path, required=True, help="an HR test image")
    parser.add_argument("--box", required=True, help="LEFT,TOP,WIDTH,HEIGHT of the crop in HR pixels")
    parser.add_argument("--quality", type=int, default=40)
    parser.add_argument("--jpeg-model", default="compact-jpeg-x4")
    parser.add_argument("--box-model", default="compact-x4")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    left, top, width, height = map(int, args.box.split(","))
    with Image.open(args.image) as opened:
        hr = opened.convert("RGB")
    hr = hr.crop((0, 0, hr.width // SCALE * SCALE, hr.height // SCALE * SCALE))
    buffer = io.BytesIO()
    hr.reduce(SCALE).save(buffer, "JPEG", quality=args.quality, subsampling="4:2:0")
    picture = decode_picture(buffer.getvalue(), args.image.name)
    jpeg = jpeg_input(picture)
    assert jpeg is not None
    options = RunOptions(tile=0)
    default, _ = upscale_jpeg_picture(picture, jpeg, resolve(args.jpeg_model, "sr")[0], options)
    box = upscale_picture(picture, resolve(args.box_model, "sr")[0], options)
    lr_nearest = tensor_to_pil(picture.color).resize((hr.width, hr.height), Image.Resampling.NEAREST)
    columns = [
        (f"JPEG q{args.quality} (nearest)", lr_nearest),
        (f"{args.box_model}, pixel-exact", tensor_to_pil(box.color)),
        (f"{args.jpeg_model}, JPEG bins", tensor_to_pil(default.color)),
        ("HR", hr),
    ]
    size = (width * ZOOM, height * ZOOM)
    sheet = Image.new("RGB", (len(columns) * (size[0] + 4) - 4, size[1] + LABEL), "white")
    draw = ImageDraw.Draw(sheet)
    for index, (label, image) in enumerate(columns):
        crop = image.crop((left, top, left + width, top + height)).resize(size, Image.Resampling.NEAREST)
        x = index * (size[0] + 4)
        sheet.paste(crop, (x, LABEL))
        draw.text((x + 2, 3), label, fill="black")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)


if __name__ == "__main__":
    main()
