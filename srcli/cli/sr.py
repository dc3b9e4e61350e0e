"""``srcli upscale`` and ``srcli bench``: super-resolution of files, and its measurement on benchmark sets."""

from __future__ import annotations

import dataclasses
from enum import Enum
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
    Ray,
    RayAddress,
    Recursive,
    SkipExisting,
    Threads,
    Workers,
    check_batch_options,
    fail,
    ray_settings,
    run_jobs,
    run_options,
)
from srcli.tasks.sr import OVERLAP_CAP

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
Overlap = Annotated[
    int | None,
    typer.Option(
        "--tile-overlap",
        help=f"Context around each tile, LR pixels [default: the model's receptive radius, at most {OVERLAP_CAP}].",
        show_default=False,
    ),
]


class Correction(str, Enum):
    """The right inverse PD corrects with (srcli.ops.CORRECTIONS)."""

    nearest = "nearest"
    smooth = "smooth"


CorrectionOption = Annotated[
    Correction | None,
    typer.Option(
        help="How PD spreads the correction: nearest (constant per s×s block, the smallest change; for nets "
        "trained through it, as srcli's own) or smooth (bilinear back-projection, no block grid; for any other "
        "net). Both are exact [default: the model's own].",
        show_default=False,
    ),
]
Realism = Annotated[
    float | None,
    typer.Option(
        help="0 = the PSNR model, 1 = the realistic one (--model, else the shipped realistic model), between: "
        "a blend of the two. Every output stays exact.",
        min=0.0,
        max=1.0,
        show_default=False,
    ),
]
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
    tile_overlap: Overlap = None,
    device: DeviceOption = Device.auto,
    half: Half = False,
    no_pd: NoPd = False,
    correction: CorrectionOption = None,
    ensemble: Ensemble = False,
    realism: Realism = None,
    degradation: Annotated[
        str,
        typer.Option(
            help="How the input was made from its HR: box (s×s mean), bicubic (Pillow's resize), bicubic-matlab "
            "(imresize), or gaussian:σ (σ in HR pixels). The output is projected under it: degrading the saved "
            "file the same way gives the input back."
        ),
    ] = "box",
    noise: Annotated[
        float, typer.Option(help="Noise level of the input (levels, σ); > 0 relaxes the projection to it.")
    ] = 0.0,
    suffix: Annotated[str | None, typer.Option(help="Added to each output name [default: _x{scale}].")] = None,
    ext: ExtOption = Ext.png,
    recursive: Recursive = False,
    skip_existing: SkipExisting = False,
    overwrite: Overwrite = False,
    json_output: Json = False,
    quiet: Quiet = False,
    ray: Ray = False,
    ray_address: RayAddress = None,
    workers: Workers = None,
) -> None:
    """Upscale images ×2, ×4 or ×8. Every saved file is exactly consistent with its input: its
    box downsample (or the --degradation's) equals the input byte for byte (alpha and 16-bit too).
    Exit 1 if any file failed."""
    from srcli.blend import realism_model
    from srcli.downsample import projectable
    from srcli.models import sr_stages, total_scale
    from srcli.tasks.batch import plan_jobs
    from srcli.tasks.degraded import UpscaleDegraded
    from srcli.tasks.run import RunOptions
    from srcli.tasks.sr import Upscale

    if scale not in (None, 2, 4, 8):
        fail(f"--scale must be 2, 4 or 8, got {scale}")
    check_batch_options(output, json_output, overwrite, skip_existing)
    kind, _ = projectable(degradation)
    if not 0 <= noise < 1e4:
        fail(f"--noise must be a level in [0, 10000), got {noise}")
    on_ray = ray_settings(ray, ray_address, workers, device)
    options = run_options(device, tile, tile_overlap, half, no_pd, ensemble, on_ray)
    options = dataclasses.replace(options, correction=correction.value if correction else None)
    plain = kind == "box" and noise == 0

    def make_task(options: RunOptions) -> Upscale | UpscaleDegraded:
        """The task with its models loaded, here or on each Ray worker."""
        stages = sr_stages(model, scale) if realism is None else [realism_model(model, scale, realism)]
        return Upscale(stages, options) if plain else UpscaleDegraded(stages, options, degradation, noise)

    task = make_task(options)
    total = total_scale(task.stages)
    jobs = plan_jobs(inputs, output, suffix if suffix is not None else f"_x{total}", ext.value, recursive)
    if len(task.stages) > 1 and not quiet:
        cascade = " → ".join(f"{s.name} (×{s.scale})" for s in task.stages)
        report.note(f"×{total} as a cascade: {cascade}, PD at each stage")
    run_jobs(jobs, task, make_task, overwrite, skip_existing, json_output, quiet or output == "-", on_ray)


def bench(
    data: Annotated[list[Path], typer.Option("--data", help="Benchmark folder (repeat for several sets).")],
    scale: Scale = None,
    model: Model = None,
    tile: Tile = None,
    tile_overlap: Overlap = None,
    device: DeviceOption = Device.auto,
    half: Half = False,
    no_pd: NoPd = False,
    correction: CorrectionOption = None,
    ensemble: Ensemble = False,
    realism: Realism = None,
    threads: Threads = None,
    json_output: Json = False,
) -> None:
    """PSNR-Y/SSIM of a model beside bicubic (box LR, protocol of shared/README.md), LR-consistency
    of its saved outputs, NIQE (lower is more natural) and detail energy (Laplacian energy relative to
    the HR photo), time, megapixels per second and peak memory, per folder."""
    import torch

    from srcli.blend import realism_model
    from srcli.models import sr_stages, total_scale
    from srcli.tasks.bench import bench_folder, peak_memory_mb
    from srcli.tasks.sr import stage_correction

    if threads:
        torch.set_num_threads(threads)
    options = run_options(device, tile, tile_overlap, half, no_pd, ensemble)
    options = dataclasses.replace(options, correction=correction.value if correction else None)
    stages = sr_stages(model, scale) if realism is None else [realism_model(model, scale, realism)]
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
                    "correction": " → ".join(stage_correction(stage, options) for stage in stages)
                    if not no_pd
                    else None,
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
            f"{r.niqe:.2f} / {r.bicubic_niqe:.2f} / {r.hr_niqe:.2f}",
            f"{r.detail:.2f} / {r.bicubic_detail:.2f}",
            f"{r.seconds:.2f} s",
            f"{r.megapixels_per_second:.2f}",
        ]
        for r in results
    ]
    report.print_table(
        f"{name} ×{scale}{' (no PD)' if no_pd else ''}{' (self-ensemble)' if ensemble else ''}",
        [
            "set",
            "images",
            "PSNR-Y / SSIM",
            "bicubic",
            "exact",
            "NIQE / bicubic / HR",
            "detail / bicubic",
            "time",
            "MP/s out",
        ],
        rows,
    )
    report.note(f"peak memory {peak_memory_mb():.0f} MiB")
