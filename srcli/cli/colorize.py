"""``srcli colorize``: colour for gray images whose saved files turn back into their gray exactly."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

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
    Workers,
    check_batch_options,
    check_quality,
    chosen_ext,
    ray_settings,
    run_jobs,
    run_options,
)


class GrayMode(str, Enum):
    mean = "mean"
    bt601 = "bt601"


def colorize(
    inputs: Inputs,
    gray: Annotated[
        GrayMode,
        typer.Option(
            help="What 'gray' means: the channel mean (exact at 8 and 16 bits), or bt601, Pillow's "
            "convert('L') (8-bit), so that any editor turns the output back into the input."
        ),
    ] = GrayMode.mean,
    output: Output = None,
    model: Annotated[str | None, typer.Option(help="Model name or checkpoint path [default: the shipped one].")] = None,
    tile: Annotated[int | None, typer.Option(help="Tile side in pixels; 0 = whole image [default: auto].")] = None,
    vividness: Annotated[
        float | None,
        typer.Option(
            help="How bold the colours are, 0 to 1: 0 is the model's own decoding (calibrated on Set14 to beat the "
            "gray copy's PSNR), 1 gives 1.5 times its chroma, nearer the likeliest colours: bolder, and riskier where "
            "the network guesses. Exact at every value. Sets --temperature and --saturation [default: 0]."
        ),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(
            help="Colour strength, 0.01 to 100: lower is more saturated, 1 is the cautious mean [default: the model's]."
        ),
    ] = None,
    saturation: Annotated[
        float | None,
        typer.Option(help="Chroma scale, 0 to 10: 0 is gray, 1 the network's full colour [default: the model's]."),
    ] = None,
    tile_overlap: Annotated[int, typer.Option("--tile-overlap", help="Context around each tile, pixels.")] = 48,
    device: DeviceOption = Device.auto,
    half: Half = False,
    no_pd: NoPd = False,
    suffix: Annotated[str, typer.Option(help="Added to each output name.")] = "_color",
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
    """Colorize gray images. The saved file turns back into the input gray exactly (its channel
    mean, or with --gray bt601 Pillow's convert('L')). Colour input is made gray first; alpha is
    kept. Reports consistency and colourfulness per file. Exit 1 if some files failed, 2 if every one did."""
    from srcli.tasks.batch import plan_jobs
    from srcli.tasks.colorize import colorize_task

    check_batch_options(output, json_output, overwrite, skip_existing)
    on_ray = ray_settings(ray, ray_address, workers, device)
    options = run_options(
        device, tile, tile_overlap, half, no_pd, ray=on_ray, png_level=png_compression, quality=quality
    )

    jobs = plan_jobs(inputs, output, suffix, chosen_ext(ext), recursive)
    check_quality(quality, jobs)
    task = colorize_task(model, gray.value, options, temperature, saturation, vividness)
    run_jobs(jobs, task, task.with_options, overwrite, skip_existing, json_output, quiet or output == "-", on_ray)
