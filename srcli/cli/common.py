"""What every command shares: the error boundary, the debug switch and the option types."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from srcli.cli import report
from srcli.errors import OptionError, SrcliError

EXIT_FAILED = 1
"""Some file of a batch failed (each is reported), or ``check`` found the output below its threshold."""
EXIT_BAD_INPUT = 2
"""The input, an option or a model cannot be used: one line on stderr, nothing written."""
EXIT_INTERNAL = 70
"""A bug in srcli (BSD ``EX_SOFTWARE``): one line saying so, then the traceback."""

state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])


def error_boundary(command: F) -> F:
    """The one error boundary, applied to every command where it is registered.

    A :class:`srcli.errors.SrcliError` is bad input: one line on stderr and exit 2 (with ``--debug``,
    its traceback too). Any other exception is a bug: one line saying so, the traceback, exit 70.
    Typer's own exits and Ctrl-C pass through.
    """

    @functools.wraps(command)
    def guarded_command(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SrcliError as error:
            if state["debug"]:
                traceback.print_exc(file=sys.stderr)
            report.error(str(error))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as error:  # not a known error: a bug, never disguised as bad input
            traceback.print_exc(file=sys.stderr)
            report.internal_error(f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error) else ''}")
            raise typer.Exit(EXIT_INTERNAL) from None

    return guarded_command  # type: ignore[return-value]


def fail(message: str) -> NoReturn:
    """Refuse an option value: raises :class:`srcli.errors.OptionError` (one line, exit 2 at the boundary)."""
    raise OptionError(message)


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


def run_options(device: Device, tile: int | None, overlap: int | None, half: bool, no_pd: bool, ensemble: bool = False):
    """The engine's :class:`~srcli.tasks.run.RunOptions` from the command's options (checked)."""
    from srcli.tasks.run import RunOptions, resolve_device

    resolved = resolve_device(device.value)
    if half and resolved.type != "cuda":
        raise OptionError("--half needs a CUDA device")
    if (overlap is not None and overlap < 0) or (tile is not None and tile < 0):
        raise OptionError("--tile and --tile-overlap must not be negative")
    return RunOptions(device=resolved, tile=tile, overlap=overlap, half=half, pd=not no_pd, ensemble=ensemble)


def run_jobs(jobs: list, work: Callable, skip_existing: bool, json_output: bool, quiet: bool) -> None:
    """Run a batch with progress and a summary (see :func:`srcli.cli.report.run_batch`); exit 1 if any file failed."""
    if report.run_batch(jobs, work, skip_existing, json_output, quiet, debug=state["debug"]):
        raise typer.Exit(1)
