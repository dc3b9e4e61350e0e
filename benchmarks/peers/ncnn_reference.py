"""The ncnn model's own output on an image crop, to check :mod:`ncnn_to_torch`'s conversion against.

Runs where the ``ncnn`` PyPI package (CPU) and numpy are installed, without torch or srcli:

    python -m venv /work/venv-ncnn && /work/venv-ncnn/bin/pip install ncnn numpy pillow
    /work/venv-ncnn/bin/python benchmarks/peers/ncnn_reference.py MODEL.param IMAGE --crop 48 --out ref.npz

Writes ``input`` (3, h, w) and ``output`` (3, s·h, s·w), float32 RGB in [0, 1] (the nets' own range;
realesrgan-ncnn-vulkan scales by 1/255 and 255 around them).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ncnn
import numpy as np
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("param", type=Path)
    parser.add_argument("image", type=Path)
    parser.add_argument("--crop", type=int, default=48, help="top-left square crop side, input pixels")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with Image.open(args.image) as image:
        rgb = np.asarray(image.convert("RGB").crop((0, 0, args.crop, args.crop)), dtype=np.float32) / 255
    chw = np.ascontiguousarray(rgb.transpose(2, 0, 1))
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.use_fp16_storage = net.opt.use_fp16_arithmetic = net.opt.use_fp16_packed = False
    net.opt.num_threads = 1
    net.load_param(str(args.param))
    net.load_model(str(args.param.with_suffix(".bin")))
    extractor = net.create_extractor()
    extractor.input("data", ncnn.Mat(chw))
    _, output = extractor.extract("output")
    np.savez(args.out, input=chw, output=np.array(output))
    print(f"{args.out}: input {chw.shape}, output {np.array(output).shape}")


if __name__ == "__main__":
    main()
