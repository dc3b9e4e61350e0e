"""``srcli project``: any tool's upscale made consistent with its input, without running a network."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from srcli.cli import report
from srcli.cli.common import Json, Overwrite, Quiet


def project(
    sr: Annotated[Path, typer.Argument(help="The upscale (made by any tool: Real-ESRGAN, Upscayl, an editor).")],
    lr: Annotated[Path, typer.Argument(help="The input it was made from (a JPEG is taken as its file).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the projected upscale.")],
    degradation: Annotated[
        str,
        typer.Option(
            help="auto: a JPEG input's own file (the saved upscale reduces to an LR that encodes to the JPEG's "
            "coefficients), any other input's pixels; box: the input's pixels, byte for byte, even for a JPEG."
        ),
    ] = "auto",
    correction: Annotated[
        str,
        typer.Option(
            help="How PD spreads the change: smooth (no block grid; suits networks not trained through PD) or "
            "nearest (constant per s×s block, the smallest change)."
        ),
    ] = "smooth",
    json_output: Json = False,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Make SR consistent with LR: PD moves SR onto what LR admits and the exact quantisation saves it, so
    `srcli check SR LR` says exact (or, for a JPEG, every coefficient reproduced). The scale comes from the sizes.
    Exit 2 on bad input."""
    from srcli.tasks.project import project_file  # torch, only when the command runs

    record = project_file(sr, lr, output, degradation, correction, overwrite)
    if json_output:
        report.print_json(record)
    if json_output or quiet:
        return
    moved = record["moved_psnr_db"]
    change = "unchanged" if moved is None else f"{moved:.2f} dB from the upscale given"
    verdict = report.consistency_verdict(record)
    report.note(f"wrote {output} (×{record['scale']}, {record['correction']} correction, {change}): {verdict}")
