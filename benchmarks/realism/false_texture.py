"""False texture on flat areas (:func:`srcli.maths.metrics.false_texture`), ×4, image by image, paired.

    python benchmarks/realism/false_texture.py [--peer /work/peer/realesrgan-x4plus.safetensors] [--sets BSD68 Set14] \
        [--model LABEL=WEIGHTS ...] [--limit N] [--out benchmarks/results/false-texture-x4.json]

LR is the box average of the HR photo (``Image.reduce(4)``, the protocol of ``shared/README.md``). Methods: Pillow's
bicubic; compact-x4 and realistic-x4 through ``srcli upscale``'s engine (PD, exact); each ``--model`` the same way;
Real-ESRGAN x4plus bare, as its users get it (weights converted outside the repository by ``peers/ncnn_to_torch.py``,
torch, whole images; left out without ``--peer``). Per image and method: the mean 5×5 local luma std over the
photo's flat pixels, the output's and the photo's own, in levels of 255 (border 4 cropped). Per set: means over the
images with flat pixels, the ratio of each method's mean to the photo's, and the paired differences between methods
(mean and standard error: spread of the per-image differences over √n): each method against the photo and
realistic-x4 against the others (each ``--model`` included), and every later ``--model`` against every earlier
one. Stamped with commit, CPU model and load.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from srcli.checkpoints.resolve import resolve
from srcli.io.images import Picture
from srcli.io.testsets import protocol_pair
from srcli.maths.metrics import false_texture
from srcli.tasks.bench import bicubic_upscale
from srcli.tasks.run import RunOptions
from srcli.tasks.sr import upscale_picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT, bench_files, load, machine, paired

SCALE = 4
PHOTO = "HR"
PEER = "realesrgan-x4plus"
Upscale = Callable[[torch.Tensor], torch.Tensor]


def engine(weights: str, options: RunOptions) -> Upscale:
    """``(1, 3, h, w)`` uint8 → ``(1, 3, 4h, 4w)`` uint8 through srcli's engine."""
    model = resolve(weights, "sr")[0]
    return lambda lr: upscale_picture(Picture(lr[0], None, 8), model, options).color.unsqueeze(0)


def methods(args: argparse.Namespace) -> dict[str, Upscale]:
    chosen: dict[str, Upscale] = {"bicubic": lambda lr: bicubic_upscale(lr, SCALE)}
    chosen["compact-x4"] = engine("compact-x4", RunOptions())
    chosen["realistic-x4"] = engine("realistic-x4", RunOptions())
    for label, weights in (item.split("=", 1) for item in args.model):
        chosen[label] = engine(weights, RunOptions())
    if args.peer is not None:
        chosen[PEER] = engine(str(args.peer), RunOptions(pd=False, tile=0))
    return chosen


def summarise(rows: list[dict], labels: list[str]) -> dict[str, object]:
    """Means, ratios to the photo and paired differences over the images with flat pixels."""
    scored = [row for row in rows if not math.isnan(row[PHOTO])]
    means = {label: statistics.fmean(row[label] for row in scored) for label in [PHOTO, *labels]}
    summary: dict[str, object] = {
        "images": len(rows),
        "scored": len(scored),
        "flat_share": round(statistics.fmean(row["flat"] for row in rows), 4),
        "mean_std": {label: round(value, 4) for label, value in means.items()},
        "ratio_to_photo": {label: round(means[label] / means[PHOTO], 3) for label in labels},
        "above_photo": {label: sum(row[label] > row[PHOTO] for row in scored) for label in labels},
    }
    pairs = [(a, PHOTO) for a in labels] + [("realistic-x4", b) for b in labels if b != "realistic-x4"]
    extra = [label for label in labels if label not in ("bicubic", "compact-x4", "realistic-x4", PEER)]
    pairs += [(b, a) for i, a in enumerate(extra) for b in extra[i + 1 :]]
    summary["difference"] = {f"{a} - {b}": list(paired([row[a] - row[b] for row in scored]).values()) for a, b in pairs}
    return summary


_WORKER: dict[str, Upscale] = {}


def _start_worker(args: argparse.Namespace) -> None:
    """Each worker process builds the methods once, on ``--threads`` torch threads."""
    torch.set_num_threads(args.threads)
    _WORKER.update(methods(args))


def score_image(item: tuple[str, Path]) -> dict[str, object]:
    """One photo: every method's false texture, the photo's own and its flat share."""
    name, path = item
    hr, lr = protocol_pair(path, SCALE)
    photo = hr.double() / 255
    row: dict[str, object] = {"set": name, "image": path.name}
    for label, upscale in _WORKER.items():
        score = false_texture(upscale(lr).double() / 255, photo, SCALE)
        row |= {label: score.output, PHOTO: score.photo, "flat": score.flat}
    return row


def _rounded(row: dict[str, object]) -> dict[str, object]:
    return {key: (None if math.isnan(v) else round(v, 4)) if isinstance(v, float) else v for key, v in row.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["BSD68", "Set14"])
    parser.add_argument("--peer", type=Path, help="Real-ESRGAN x4plus weights (.safetensors), run bare")
    parser.add_argument("--model", nargs="*", default=[], help="more ×4 models run with PD: LABEL=WEIGHTS")
    parser.add_argument("--limit", type=int, default=0, help="only the first N images of each set")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (images in parallel)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "false-texture-x4.json")
    args = parser.parse_args()
    record: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "processes": f"{args.jobs} process(es) × {args.threads} thread(s), torch {torch.__version__}",
        "command": "python benchmarks/realism/false_texture.py " + " ".join(sys.argv[1:]),
        "measure": "mean 5x5 local std of full-range luma (levels of 255) over pixels whose photo is flat "
        "(every 5x5 window within 4 px has std < 3), border 4 cropped; x4plus bare, the others inside PD",
        "sets": {},
        "images": [],
    }
    items = [(name, path) for name in args.sets for path in bench_files(name, args.limit or None)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.jobs, context, _start_worker, (args,)) as pool:
        rows = []
        for row in pool.map(score_image, items):
            rows.append(row)
            print(json.dumps(_rounded(row)), flush=True)
    labels = [key for key in rows[0] if key not in ("set", "image", PHOTO, "flat")]
    for name in args.sets:
        mine = [row for row in rows if row["set"] == name]
        record["sets"][name] = summarise(mine, labels)  # type: ignore[index]
        print(json.dumps({"set": name, **record["sets"][name]}, indent=1), flush=True)  # type: ignore[index]
    record["images"] = [_rounded(row) for row in rows]
    record["load_end"] = load()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
