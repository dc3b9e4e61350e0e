"""``srcli degrade``: make the LR image of an HR one (box, Pillow's filters, MATLAB's bicubic, a Gaussian)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from srcli.cli import report
from srcli.cli.common import Json, Overwrite, Quiet, refuse_stdout_twice


def degrade(
    hr: Annotated[Path, typer.Argument(help="High-resolution image.")],
    scale: Annotated[int, typer.Option("--scale", "-s", min=2, max=16, help="Downscaling factor.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the LR image.")],
    downsampler: Annotated[
        str,
        typer.Option(
            help="box (s×s mean, what PD assumes), bicubic, bilinear or lanczos (Pillow), bicubic-matlab "
            "(imresize), or gaussian:σ (σ in HR pixels)."
        ),
    ] = "box",
    noise: Annotated[float, typer.Option(help="Add Gaussian noise of this σ (levels) to the LR.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the noise.")] = 0,
    jpeg: Annotated[
        int | None,
        typer.Option(
            help="Save the LR as a JPEG of this quality (1–100; -o must end in .jpg), as a camera or a website "
            "would: the input of srcli upscale's JPEG path.",
            show_default=False,
        ),
    ] = None,
    subsampling: Annotated[str, typer.Option(help="Chroma subsampling of --jpeg: 4:2:0, 4:2:2 or 4:4:4.")] = "4:2:0",
    overwrite: Overwrite = False,
    json_output: Json = False,
    quiet: Quiet = False,
) -> None:
    """Make the LR image of HR: crops HR to a multiple of the scale (and says so), keeps depth,
    alpha and ICC profile; with --noise, seeded Gaussian noise on the colour channels."""
    refuse_stdout_twice(output, json_output)
    from srcli.tasks.degrade import degrade_image  # torch, only when the command runs

    result = degrade_image(hr, scale, output, downsampler, overwrite, noise, seed, jpeg, subsampling)
    if json_output:
        report.print_json(
            {
                "hr": str(hr),
                "output": str(output),
                "scale": scale,
                "downsampler": downsampler,
                "hr_size": list(result.hr_size),
                "output_size": list(result.lr_size),
                "cropped": result.cropped,
                "noise": noise,
                "seed": seed,
                "jpeg_quality": jpeg,
                "subsampling": subsampling if jpeg is not None else None,
            }
        )
    if json_output or quiet:
        return
    if result.cropped:
        report.note(
            f"cropped {hr} from {result.hr_size[0]}×{result.hr_size[1]} to a multiple of {scale}: "
            f"{result.lr_size[0] * scale}×{result.lr_size[1] * scale}"
        )
    noisy = f", noise σ {noise} (seed {seed})" if noise else ""
    noisy += f", JPEG quality {jpeg} {subsampling}" if jpeg is not None else ""
    report.note(f"wrote {output} ({result.lr_size[0]}×{result.lr_size[1]}, {downsampler} ×{scale}{noisy})")
