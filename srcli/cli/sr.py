"""``srcli upscale`` and ``srcli bench``: super-resolution of files, and its measurement on benchmark sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from srcli.cli import report
from srcli.cli.common import (
    Device,
    DeviceOption,
    Ext,
    ExtOption,
    Half,
    Inputs,
    Json,
    NoPd,
    Output,
    Overwrite,
    Quiet,
    Recursive,
    SkipExisting,
    Threads,
    check_batch_options,
    fail,
    run_jobs,
    run_options,
)
from srcli.tasks.sr import DEFAULT_OVERLAP

Scale = Annotated[
    int | None,
    typer.Option(
        "--scale",
        "-s",
        help="Upscaling factor: 2, 4 or 8 [default: the --model's own factor, else 4].",
        show_default=False,
    ),
]
Model = Annotated[str | None, typer.Option(help="Shipped model name or checkpoint path [default: the shipped one].")]
Tile = Annotated[int | None, typer.Option(help="Tile side in LR pixels; 0 = whole image [default: auto].")]
Overlap = Annotated[int, typer.Option("--tile-overlap", help="Context around each tile, LR pixels.")]
Ensemble = Annotated[
    bool,
    typer.Option("--ensemble", help="Mean over the 8 flips/transposes of each tile: ~0.1 dB better, 8x slower."),
]


def upscale(
    inputs: Inputs,
    scale: Scale = None,
    output: Output = None,
    model: Model = None,
    tile: Tile = None,
    tile_overlap: Overlap = DEFAULT_OVERLAP,
    device: DeviceOption = Device.auto,
    half: Half = False,
    no_pd: NoPd = False,
    ensemble: Ensemble = False,
    suffix: Annotated[str | None, typer.Option(help="Added to each output name [default: _x{scale}].")] = None,
    ext: ExtOption = Ext.png,
    recursive: Recursive = False,
    skip_existing: SkipExisting = False,
    overwrite: Overwrite = False,
    json_output: Json = False,
    quiet: Quiet = False,
) -> None:
    """Upscale images ×2, ×4 or ×8. Every saved file is exactly consistent with its input: its
    box downsample equals the input byte for byte (alpha and 16-bit too). Exit 1 if any file failed."""
    from srcli.models import sr_stages, total_scale
    from srcli.tasks.batch import plan_jobs
    from srcli.tasks.run import run_file
    from srcli.tasks.sr import Upscale

    if scale not in (None, 2, 4, 8):
        fail(f"--scale must be 2, 4 or 8, got {scale}")
    check_batch_options(output, json_output, overwrite, skip_existing)
    options = run_options(device, tile, tile_overlap, half, no_pd, ensemble)
    stages = sr_stages(model, scale)
    scale = total_scale(stages)
    jobs = plan_jobs(inputs, output, suffix if suffix is not None else f"_x{scale}", ext.value, recursive)
    task = Upscale(stages, options)
    if len(stages) > 1 and not quiet:
        report.note(f"×{scale} as a cascade: {' → '.join(f'{s.name} (×{s.scale})' for s in stages)}, PD at each stage")
    run_jobs(
        jobs, lambda job, on_tile: run_file(job, task, overwrite, on_tile), skip_existing, json_output,
        quiet or output == "-",
    )  # fmt: skip


def bench(
    data: Annotated[list[Path], typer.Option("--data", help="Benchmark folder (repeat for several sets).")],
    scale: Scale = None,
    model: Model = None,
    tile: Tile = None,
    tile_overlap: Overlap = DEFAULT_OVERLAP,
    device: DeviceOption = Device.auto,
    half: Half = False,
    no_pd: NoPd = False,
    ensemble: Ensemble = False,
    threads: Threads = None,
    json_output: Json = False,
) -> None:
    """PSNR-Y/SSIM of a model beside bicubic (box LR, protocol of shared/README.md), LR-consistency
    of its saved outputs, time, megapixels per second and peak memory, per folder."""
    import torch

    from srcli.models import sr_stages, total_scale
    from srcli.tasks.bench import bench_folder, peak_memory_mb

    if threads:
        torch.set_num_threads(threads)
    options = run_options(device, tile, tile_overlap, half, no_pd, ensemble)
    stages = sr_stages(model, scale)
    scale = total_scale(stages)
    name = " → ".join(stage.name for stage in stages)
    results = [bench_folder(folder, stages, options) for folder in data]
    if json_output:
        for result in results:
            report.print_json(
                {
                    "model": name,
                    "scale": scale,
                    "pd": not no_pd,
                    "ensemble": ensemble,
                    **result.as_json(),
                    "peak_memory_mb": round(peak_memory_mb(), 1),
                }
            )
        return
    rows = [
        [
            r.name,
            str(r.images),
            f"{r.psnr_y:.2f} / {r.ssim_y:.4f}",
            f"{r.bicubic_psnr_y:.2f} / {r.bicubic_ssim_y:.4f}",
            f"{r.exact}/{r.images}",
            f"{r.seconds:.2f} s",
            f"{r.megapixels_per_second:.2f}",
        ]
        for r in results
    ]
    report.print_table(
        f"{name} ×{scale}{' (no PD)' if no_pd else ''}{' (self-ensemble)' if ensemble else ''}",
        ["set", "images", "PSNR-Y / SSIM", "bicubic", "exact", "time", "MP/s out"],
        rows,
    )
    report.note(f"peak memory {peak_memory_mb():.0f} MiB")
