"""``srcli cs sample|reconstruct``: block compressed sensing with a network and PD."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from srcli.cli import report
from srcli.cli.common import (
    Device,
    DeviceOption,
    Half,
    Json,
    NoPd,
    Overwrite,
    Quiet,
    fail,
    refuse_stdout_twice,
    run_options,
)
from srcli.errors import ModelError

cs_app = typer.Typer(
    help="Block compressed sensing: sample an image into measurements, reconstruct it with a network and PD.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@cs_app.command("sample")
def cs_sample(
    image: Annotated[Path, typer.Argument(help="Image to measure (8 or 16 bits, gray or RGB; alpha is not measured).")],
    ratio: Annotated[float, typer.Option(help="Measurements per pixel: M = round(ratio·1024) per 32×32 block.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Measurement file to write (.safetensors).")],
    seed: Annotated[int, typer.Option(help="Seed of the sensing rows (the shipped models use 0).")] = 0,
    model: Annotated[
        str | None,
        typer.Option(
            help="The model that will reconstruct: its ratio and seed must be these [default: the shipped one for "
            "the ratio].",
            show_default=False,
        ),
    ] = None,
    no_model_check: Annotated[
        bool,
        typer.Option(
            "--no-model-check", help="Measure for a model not yet made: skip the check that one reconstructs them."
        ),
    ] = False,
    overwrite: Overwrite = False,
    json_output: Json = False,
    quiet: Quiet = False,
) -> None:
    """Measure IMAGE: per 32×32 block and channel, M orthonormal random projections, saved as
    float32 with everything reconstruction needs (sides that are not multiples of 32 are padded).
    Refused where no model (the shipped ones, or --model) reconstructs that ratio and seed."""
    from srcli.tasks.cs import sample_file

    if not 0 < ratio <= 1:
        fail(f"--ratio must be in (0, 1], got {ratio}")
    refuse_stdout_twice(output, json_output)
    if not no_model_check:
        from srcli.checkpoints.resolve import cs_model

        try:
            cs_model(model, ratio, seed)
        except ModelError as error:
            raise ModelError(f"{error} (--model; --no-model-check to measure anyway)") from None
    record = sample_file(image, output, ratio, seed, overwrite)
    if json_output:
        report.print_json(record)
    if json_output or quiet:
        return
    if record["alpha_dropped"]:
        report.note(f"{image}: alpha is not measured (only colour)")
    report.note(
        f"wrote {output}: {record['values']} values, {record['measurements_per_block']} per block and channel "
        f"(ratio {ratio}, seed {seed})"
    )


@cs_app.command("reconstruct")
def cs_reconstruct(
    measurements: Annotated[Path, typer.Argument(help="Measurement file from `srcli cs sample`.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Image to write: .png (input's bit depth) or .tiff (float32).")
    ],
    model: Annotated[
        str | None, typer.Option(help="Model name or checkpoint path [default: the shipped one for the ratio].")
    ] = None,
    tile: Annotated[int | None, typer.Option(help="Tile side in pixels (whole blocks); 0 = whole image.")] = None,
    device: DeviceOption = Device.auto,
    half: Half = False,
    no_pd: NoPd = False,
    overwrite: Overwrite = False,
    json_output: Json = False,
    quiet: Quiet = False,
) -> None:
    """Reconstruct an image from its measurements: a learned linear estimate per block, a refiner
    network, then PD, which restores the measured part exactly. Reports the measurement-consistency
    PSNR of the float result and of the saved file (rounding to integers costs some)."""
    from srcli.tasks.batch import Job
    from srcli.tasks.cs import Reconstruct
    from srcli.tasks.run import run_file

    if tile is not None and tile < 0:
        fail("--tile must not be negative")
    refuse_stdout_twice(output, json_output)
    options = run_options(device, tile, 0, half, no_pd)
    record = run_file(Job(str(measurements), str(output)), Reconstruct(model, options), overwrite)
    if json_output:
        report.print_json(record)
    if json_output or quiet:
        return
    report.print_table(
        f"{measurements} → {output}",
        ["model", "size", "time", "consistency (float)", "consistency (saved)"],
        [
            [
                str(record["model"]),
                "×".join(str(v) for v in record["output_size"]),
                f"{record['seconds']:.2f} s",
                report.format_db(record["consistency_psnr_db"]),
                report.format_db(record["saved_consistency_psnr_db"]),
            ]
        ],
    )
