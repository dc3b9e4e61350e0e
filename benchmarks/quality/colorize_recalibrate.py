"""Calibrate a colorization checkpoint's decoding again, without training: the rule of ``srcli train colorize``.

    python benchmarks/colorize_recalibrate.py weights/colorunet.safetensors ../shared/data/bench/Set14

Runs :func:`srcli.train.colorize.recalibrate` on the calibration folder (Set14, as the shipped run did; never
BSD68 or Set5, the test sets) and rewrites the checkpoint in place: the network's weights are unchanged, only the
``temperature`` and ``saturation`` buffers, the header's ``config``, ``calibration`` table and a ``recalibrated``
entry (this command and the date) change. Prints what was chosen.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch

from srcli.archs.colornet import ColorNet
from srcli.archs.colorunet import ColorUNet
from srcli.checkpoints.load import load_network, read_metadata, save_checkpoint
from srcli.train.colorize import recalibrate
from srcli.train.data import validation_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("calibration", type=Path, help="folder of colour images (Set14)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    net, _ = load_network(args.weights)
    if not isinstance(net, ColorNet | ColorUNet):
        sys.exit(f"{args.weights} is not a colorization model")
    print(recalibrate(net, args.weights, args.calibration, validation_files(args.calibration)))
    command = shlex.join(["python", "benchmarks/colorize_recalibrate.py", *sys.argv[1:]])
    note = {"recalibrated": f"{time.strftime('%Y-%m-%d')}: {command} (weights unchanged)"}
    kept = {k: v for k, v in read_metadata(args.weights).items() if k not in ("format", "arch", "config")}
    save_checkpoint(args.weights, net, kept | note)


if __name__ == "__main__":
    main()
