"""``srcli check``: measure any SR against its LR (consistency PSNR, byte-exactness, a heatmap)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from srcli.cli import report
from srcli.cli.common import Json, Overwrite, Quiet, refuse_stdout_twice


def check(
    sr: Annotated[Path, typer.Argument(help="The super-resolved image (made by any tool).")],
    lr: Annotated[Path, typer.Argument(help="The low-resolution image it was made from.")],
    scale: Annotated[str, typer.Option(help="Integer factor, or auto to infer it from the sizes.")] = "auto",
    downsampler: Annotated[
        str,
        typer.Option(
            help="box, bicubic, bilinear, lanczos, bicubic-matlab or gaussian:σ; auto tries every one but "
            "gaussian and names the best."
        ),
    ] = "auto",
    heatmap: Annotated[Path | None, typer.Option(help="Write a per-LR-pixel error map (PNG) here.")] = None,
    min_psnr: Annotated[
        float | None, typer.Option(help="Exit 1 when the consistency PSNR is below this (dB) and not byte-exact.")
    ] = None,
    json_output: Json = False,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """How consistent SR is with LR: float64 PSNR of the downsampled SR against LR, and whether
    it matches byte for byte. With --min-psnr: exit 0 when byte-exact or at or above it, 1 below;
    without, a measurement only (exit 0; "passed" is null). Exit 2 on bad input."""
    refuse_stdout_twice(heatmap, json_output, "--heatmap")
    from srcli.tasks.check import check_images  # torch, only when the command runs

    outcome = check_images(sr, lr, scale, downsampler, heatmap, overwrite)
    chosen = outcome.chosen
    jpeg = outcome.jpeg
    passed = None if min_psnr is None else chosen.exact or chosen.psnr_db >= min_psnr or bool(jpeg and jpeg.exact)
    if json_output:
        record: dict[str, Any] = {
            "sr": str(sr),
            "lr": str(lr),
            "scale": outcome.scale,
            "cropped": outcome.cropped,
            "downsampler": chosen.method,
            **chosen.as_json(),
            "min_psnr_db": min_psnr,
            "passed": passed,
            "downsamplers": {r.method: r.as_json() for r in outcome.results},
            "jpeg": None
            if jpeg is None
            else {
                "coefficients_reproduced": round(jpeg.fraction, 6),
                "mcus_reproduced": f"{jpeg.mcus}/{jpeg.total_mcus}",
                "exact": jpeg.exact,
            },
        }
        report.print_json(record)
    elif not quiet:
        rows = [
            [
                r.method + (" ◀" if r is chosen else ""),
                report.format_db(r.psnr_db),
                "yes" if r.exact else "no",
                f"{r.max_abs_error:.3f}",
            ]
            for r in outcome.results
        ]
        report.print_table(
            f"{sr} vs {lr} (×{outcome.scale})", ["downsampler", "consistency PSNR", "byte-exact", "max |error|"], rows
        )
        if jpeg is not None:
            share = f"{100 * jpeg.fraction:.3f} %"
            report.note(
                f"JPEG: box ×{outcome.scale} of SR, encoded with {lr}'s tables, reproduces {share} of its coefficients "
                f"({jpeg.mcus}/{jpeg.total_mcus} MCUs){': consistent with the JPEG' if jpeg.exact else ''}"
            )
        if outcome.cropped:
            report.note(f"SR cropped to {outcome.cropped[0]}×{outcome.cropped[1]} (×{outcome.scale} of LR)")
        if heatmap:
            report.note(f"wrote {heatmap} (error per LR pixel, {chosen.method}; white ≥ 4 levels)")
        if passed:
            report.note(f"{chosen.method}: {report.format_db(chosen.psnr_db)} passes --min-psnr {min_psnr} dB")
    if passed is False:
        report.error(
            f"{sr}: {chosen.method} consistency {report.format_db(chosen.psnr_db)} is below --min-psnr {min_psnr} dB"
        )
        raise typer.Exit(1)
