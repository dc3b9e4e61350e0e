"""Does ``srcli project``'s shrink towards the bins' centres (fitted on Real-ESRGAN x4plus) help other upscalers?

    python benchmarks/jpeg/shrink_other_upscalers.py --images 10 > benchmarks/results/jpeg-shrink-other-upscalers.txt

On the last ``--images`` BSD68 photos (sorted; none among x4plus's fitting or benchmark images), box ×4 LRs saved
at quality 40 (4:2:0): three foreign-style upscales of the decoded JPEG (Pillow bicubic, and srcli's compact-x4 and
compact-jpeg-x4 without PD) each projected by :func:`srcli.tasks.project.project_file` with the shrink and
without it; per upscaler the paired PSNR-Y difference (with − without) and its standard error.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
from PIL import Image

from srcli.checkpoints.resolve import resolve
from srcli.io.images import pil_to_tensor, read_picture
from srcli.maths.metrics import psnr_y
from srcli.tasks.project import FOREIGN_SHRINK, project_file
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, machine, paired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(machine())
    nets = {name: resolve(name, "sr")[0] for name in ("compact-x4", "compact-jpeg-x4")}
    deltas: dict[str, list[float]] = {name: [] for name in ("bicubic", *nets)}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for path in sorted((BENCH / "BSD68").glob("*.png"))[-args.images :]:
            with Image.open(path) as opened:
                hr = opened.convert("RGB")
            hr = hr.crop((0, 0, hr.width // 4 * 4, hr.height // 4 * 4))
            lr_path = work / "lr.jpg"
            hr.reduce(4).save(lr_path, "JPEG", quality=40, subsampling="4:2:0")
            with Image.open(lr_path) as opened:
                decoded = opened.convert("RGB")
            upscales = {"bicubic": decoded.resize((decoded.width * 4, decoded.height * 4), Image.BICUBIC)}
            picture = read_picture(lr_path)
            for name, model in nets.items():
                out = upscale_picture(picture, model, RunOptions(pd=False, tile=0))
                upscales[name] = Image.fromarray(out.color.permute(1, 2, 0).numpy())
            truth = pil_to_tensor(hr)[None].double() / 255
            for name, upscale in upscales.items():
                upscale.save(work / "sr.png")
                scores = []
                for shrink in (None, FOREIGN_SHRINK):
                    project_file(work / "sr.png", lr_path, work / "out.png", overwrite=True, shrink=shrink)
                    with Image.open(work / "out.png") as saved:
                        scores.append(psnr_y(pil_to_tensor(saved.convert("RGB"))[None].double() / 255, truth, 4))
                deltas[name].append(scores[1] - scores[0])
            print(path.name, {name: round(values[-1], 4) for name, values in deltas.items()}, flush=True)
    for name, values in deltas.items():
        print(name, "shrink − no shrink, PSNR-Y dB:", paired(values))


if __name__ == "__main__":
    main()
