"""``srcli upscale`` and ``srcli bench``: super-resolution of files, and its measurement on benchmark sets."""

from __future__ import annotations

import dataclasses
import functools
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from srcli.cli import report
from srcli.cli.common import (
    Device,
    DeviceOption,
    ExtOption,
    Half,
    Inputs,
    Json,
    NoPd,
    Output,
    Overwrite,
    PngCompression,
    Quality,
    Quiet,
    Ray,
    RayAddress,
    Recursive,
    SkipExisting,
    Threads,
    Workers,
    check_batch_options,
    check_quality,
    chosen_ext,
    fail,
    ray_settings,
    run_jobs,
    run_options,
)

OVERLAP_CAP = 32
"""``srcli.tasks.sr.OVERLAP_CAP`` for the help text, which must not import torch (a test holds them equal)."""


Scale = Annotated[
    int | None,
    typer.Option(
        "--scale",
        "-s",
        help="Upscaling factor, an integer from 2 to 8 [default: the --model's own factor, else 4]. Shipped "
        "models run ×2, ×3, ×4 and ×8, and ×6 as ×2 then ×3; for ×5 and ×7 the next larger (×6, ×8) runs and its "
        "estimate is resampled before the projection, as for a --model of a larger factor; the report says so.",
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
    """The right inverse PD corrects with (srcli.maths.operators.CORRECTIONS)."""

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
            help="How the input was made from its HR: auto (box, and for a JPEG input the box then the JPEG file "
            "itself: the saved file reduces to an LR whose encoding with the file's tables gives its coefficients), "
            "box (s×s mean; pixel-exact even for a JPEG), bicubic (Pillow's resize), bicubic-matlab (imresize), or "
            "gaussian:σ (σ in HR pixels). The output is projected under it: degrading the saved file the same way "
            "gives the input back. A kernel-conditioned --model (USRNet) is given the kernel too (also motion:L,θ, "
            "gaussian:σx,σy,θ or a kernel file), at --scale 1 to 4, with the --noise level."
        ),
    ] = "auto",
    noise: Annotated[
        float,
        typer.Option(
            help="Noise level of the input (levels, σ). > 0: the input is denoised before the network and the "
            "output is consistent with it to that level (its residual has σ), not exactly. USRNet takes σ itself."
        ),
    ] = 0.0,
    suffix: Annotated[str | None, typer.Option(help="Added to each output name [default: _x{scale}].")] = None,
    ext: ExtOption = None,
    quality: Quality = None,
    png_compression: PngCompression = None,
    recursive: Recursive = False,
    skip_existing: SkipExisting = False,
    overwrite: Overwrite = False,
    json_output: Json = False,
    quiet: Quiet = False,
    ray: Ray = False,
    ray_address: RayAddress = None,
    workers: Workers = None,
) -> None:
    """Upscale images ×2 to ×8. Every saved file is exactly consistent with its input: its
    box downsample (or the --degradation's) equals the input byte for byte (alpha and 16-bit too).
    Exit 1 if some files failed, 2 if every one did."""
    from srcli.tasks.batch import plan_jobs
    from srcli.tasks.upscale import planned_upscale, upscale_task

    check_batch_options(output, json_output, overwrite, skip_existing)
    on_ray = ray_settings(ray, ray_address, workers, device)
    options = run_options(device, tile, tile_overlap, half, no_pd, ensemble, on_ray, png_compression, quality)
    options = dataclasses.replace(options, correction=correction.value if correction else None)
    plan, task = planned_upscale(options, model, scale, degradation, realism, noise)
    jobs = plan_jobs(inputs, output, suffix if suffix is not None else f"_x{plan.scale}", chosen_ext(ext), recursive)
    check_quality(quality, jobs)
    if not quiet and not plan.kernel_conditioned:
        _note_plan(plan.sr, plan.kind, degradation if model is None and realism is None else None)
    run_jobs(
        jobs,
        task,
        functools.partial(upscale_task, plan),
        overwrite,
        skip_existing,
        json_output,
        quiet or output == "-",
        on_ray,
    )


def check_scale(scale: int | None) -> None:
    """Refuse a ``--scale`` outside what upscale runs (:func:`srcli.checkpoints.plan.check_upscale_scale`)."""
    from srcli.checkpoints.plan import check_upscale_scale

    check_upscale_scale(scale)


def _note_plan(plan, kind: str, default_for: str | None) -> None:
    """One line on stderr where more than one model runs or a larger scale is resampled, and one where the
    default models for a --degradation (``default_for``, its spec; ``kind`` its kind) were trained on
    another LR."""
    if len(plan.stages) > 1 or plan.resampled:
        how = ", PD at each stage" if len(plan.stages) > 1 else ""
        report.note(f"×{plan.scale}: {plan.describe()}{how}, then exact PD at ×{plan.scale}")
    others = sorted({stage.trained_on for stage in plan.stages if stage.trained_on not in (None, kind)})
    if default_for is not None and kind != "box" and others:
        names = " → ".join(stage.name for stage in plan.stages)
        report.note(
            f"{names} was trained on {', '.join(others)} LR; no {default_for} model ships for "
            f"×{plan.estimate_scale}, so only the projection is {default_for}"
        )


def deblur(
    inputs: Inputs,
    kernel: Annotated[
        str,
        typer.Option(
            help="The blur: motion:LENGTH,ANGLE, gaussian:σ or gaussian:σx,σy,ANGLE (pixels, degrees), or a kernel "
            "file (.png or .npy; normalised to sum 1).",
            show_default=False,
        ),
    ],
    noise: Annotated[
        float, typer.Option(help="Noise level of the input (levels, σ); the projection relaxes to it and the rounding.")
    ] = 0.0,
    output: Output = None,
    model: Annotated[
        str | None,
        typer.Option(help="Kernel-conditioned model (USRNet) name or checkpoint [default: the shipped one]."),
    ] = None,
    tile: Tile = None,
    tile_overlap: Overlap = None,
    device: DeviceOption = Device.auto,
    half: Half = False,
    no_pd: NoPd = False,
    suffix: Annotated[str, typer.Option(help="Added to each output name.")] = "_deblurred",
    ext: ExtOption = None,
    quality: Quality = None,
    png_compression: PngCompression = None,
    recursive: Recursive = False,
    skip_existing: SkipExisting = False,
    overwrite: Overwrite = False,
    json_output: Json = False,
    quiet: Quiet = False,
) -> None:
    """Deblur images with a known blur kernel (USRNet at scale 1). The result is projected so that blurring
    it with the kernel gives the input back to within the noise and the input's rounding: the report gives
    that residual. Exit 1 if some files failed, 2 if every one did."""
    from srcli.checkpoints.resolve import default_name, resolve
    from srcli.io.degradation_spec import degradation_kernel
    from srcli.tasks.batch import plan_jobs
    from srcli.tasks.usrnet import deblur_task

    check_batch_options(output, json_output, overwrite, skip_existing)
    degradation_kernel(kernel, 1)  # a bad kernel: one line, before any model is loaded
    if not 0 <= noise < 1e4:
        fail(f"--noise must be a level in [0, 10000), got {noise}")
    options = run_options(device, tile, tile_overlap, half, no_pd, png_level=png_compression, quality=quality)
    jobs = plan_jobs(inputs, output, suffix, chosen_ext(ext), recursive)
    check_quality(quality, jobs)
    found, _ = resolve(model if model is not None else default_name("kernel", "deblurring"), "kernel")
    task = deblur_task(found, options, kernel, noise)
    run_jobs(jobs, task, lambda options: deblur_task(found, options, kernel, noise), overwrite, skip_existing,
             json_output, quiet or output == "-")  # fmt: skip


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
    quiet: Quiet = False,
) -> None:
    """PSNR-Y/SSIM of a model beside bicubic (box LR, protocol of shared/README.md), LR-consistency
    of its saved outputs, NIQE (lower is more natural), detail energy (Laplacian energy relative to
    the HR photo), false texture (local luma std where the photo is flat, over the photo's own; above 1:
    texture painted on walls and sky), time, megapixels per second and peak memory, per folder."""
    import torch

    from srcli.checkpoints.plan import plan_sr
    from srcli.tasks.bench import bench_files, bench_folder, peak_memory_mb
    from srcli.tasks.sr import resample_record, stage_correction

    for folder in data:  # a missing or empty folder: one line, before any model is loaded
        bench_files(folder)
    if threads:
        torch.set_num_threads(threads)
    options = run_options(device, tile, tile_overlap, half, no_pd, ensemble)
    options = dataclasses.replace(options, correction=correction.value if correction else None)
    plan = plan_sr(model, scale, realism)
    stages, scale = plan.stages, plan.scale
    name = " → ".join(stage.name for stage in stages)
    results = [bench_folder(folder, stages, options, scale) for folder in data]
    if json_output:
        for result in results:
            report.print_json(
                {
                    "model": name,
                    "scale": scale,
                    **resample_record(stages, scale, options),
                    "pd": not no_pd,
                    "correction": " → ".join(stage_correction(stage, options) for stage in stages)
                    if not no_pd
                    else None,
                    "ensemble": ensemble,
                    **result.as_json(),
                    "peak_memory_mb": round(peak_memory_mb(), 1),
                }
            )
    if json_output or quiet:
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
            f"{r.false_texture:.2f} / {r.bicubic_false_texture:.2f}",
            f"{r.seconds:.2f} s",
            f"{r.megapixels_per_second:.2f}",
        ]
        for r in results
    ]
    title = plan.describe() if plan.resampled else f"{name} ×{scale}"
    report.print_table(
        f"{title}{' (no PD)' if no_pd else ''}{' (self-ensemble)' if ensemble else ''}",
        [
            "set",
            "images",
            "PSNR-Y / SSIM",
            "bicubic",
            "exact",
            "NIQE / bicubic / HR",
            "detail / bicubic",
            "false texture / bicubic",
            "time",
            "MP/s out",
        ],
        rows,
    )
    report.note(f"peak memory {peak_memory_mb():.0f} MiB")
