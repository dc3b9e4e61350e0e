"""What every command shares: the error boundary, the debug switch and the option types."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Annotated, NoReturn, TypeVar

import typer

from srcli.cli import report
from srcli.imageio import ImageError
from srcli.models import ModelError

EXIT_BAD_INPUT = 2

state = {"debug": False}
T = TypeVar("T")


def guarded(action: Callable[[], T]) -> T:
    """The one error boundary: a known error is one line on stderr and exit code 2."""
    try:
        return action()
    except (ImageError, ModelError, ValueError) as error:
        if state["debug"]:
            raise
        report.error(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None


def fail(message: str) -> NoReturn:
    """Report a bad-input error in one line and exit 2."""
    report.error(message)
    raise typer.Exit(EXIT_BAD_INPUT)


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class Ext(str, Enum):
    png = "png"
    jpg = "jpg"
    webp = "webp"
    tiff = "tiff"
    bmp = "bmp"


Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace existing output files.")]
Json = Annotated[bool, typer.Option("--json", help="Write one JSON object per result to stdout.")]
Inputs = Annotated[list[str], typer.Argument(help="Image files, folders, globs, or - for stdin.", show_default=False)]
Output = Annotated[
    str | None,
    typer.Option(
        "--output", "-o", help="Output file (one input), folder, or - for stdout [default: beside each input]."
    ),
]
DeviceOption = Annotated[Device, typer.Option(help="Where to run the network.")]
Half = Annotated[bool, typer.Option("--half", help="float16 network on CUDA.")]
NoPd = Annotated[bool, typer.Option("--no-pd", help="Bare network, no projection (ablation; output not consistent).")]
ExtOption = Annotated[Ext, typer.Option(help="Output format (png, lossless webp and tiff stay exact; jpg is lossy).")]
Recursive = Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders; keep the tree under -o.")]
SkipExisting = Annotated[bool, typer.Option("--skip-existing", help="Leave inputs whose output exists.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table on stderr.")]
Threads = Annotated[int | None, typer.Option(help="CPU threads for torch.")]


def run_options(device: Device, tile: int | None, overlap: int, half: bool, no_pd: bool, ensemble: bool = False):
    """The pipeline's :class:`~srcli.tasks.sr.RunOptions` from the command's options (checked)."""
    from srcli.tasks.sr import RunOptions, resolve_device

    resolved = resolve_device(device.value)
    if half and resolved.type != "cuda":
        raise ValueError("--half needs a CUDA device")
    if overlap < 0 or (tile is not None and tile < 0):
        raise ValueError("--tile and --tile-overlap must not be negative")
    return RunOptions(device=resolved, tile=tile, overlap=overlap, half=half, pd=not no_pd, ensemble=ensemble)


def run_jobs(jobs: list, work: Callable, skip_existing: bool, json_output: bool, quiet: bool) -> None:
    """Run a batch with progress and a summary (see :func:`srcli.cli.report.run_batch`); exit 1 if any file failed."""
    if report.run_batch(jobs, work, skip_existing, json_output, quiet, debug=state["debug"]):
        raise typer.Exit(1)
