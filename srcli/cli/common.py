"""What every command shares: the error boundary, the debug switch and the option types."""

from __future__ import annotations

import errno
import functools
import math
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperGroup

from srcli.cli import report
from srcli.errors import OptionError, SrcliError
from srcli.tasks.interrupts import Terminated

EXIT_FAILED = 1
"""Some files of a batch failed and others were done or skipped (each is reported), or ``check`` found the
output below its threshold."""
EXIT_BAD_INPUT = 2
"""The input, an option or a model cannot be used: one line on stderr, nothing written. So for a batch
whose every file failed (a single input that failed included)."""
EXIT_INTERNAL = 70
"""A bug in srcli (BSD ``EX_SOFTWARE``): one line saying so, then the traceback."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT): one line; a batch also lists the files it finished, every one complete."""
EXIT_TERMINATED = 143
"""SIGTERM inside a batch (128 + SIGTERM, as a shell reports a process that SIGTERM ended): as Ctrl-C."""
EXIT_BROKEN_PIPE = 141
"""stdout closed by its reader (``srcli models list --json | head -1``; 128 + SIGPIPE, as a shell reports a
process that SIGPIPE ended): one line, nothing more written."""
INT64 = 2**63
CLICK_ERRORS = sys.modules[typer.BadParameter.__module__]
"""Click's exception classes, wherever this Typer takes them from (newer ones vendor Click)."""

state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])


def error_boundary(command: F) -> F:
    """The one error boundary, applied to every command where it is registered.

    Before the command runs, every float option must be finite and every integer one fit in 64 bits
    (:func:`refuse_unusable_numbers`). A :class:`srcli.errors.SrcliError` is bad input: one line on
    stderr and exit 2 (with ``--debug``, its traceback too); so is running out of memory
    (:func:`out_of_memory`) and a path no system call can use (:func:`unusable_path`). Any other exception
    is a bug: one line saying so, the traceback, exit 70.
    Ctrl-C is one line and exit 130 (SIGTERM inside a batch: 143; stdout closed by its reader: 141); Typer's
    own exits pass through.
    """

    @functools.wraps(command)
    def guarded_command(*args: Any, **kwargs: Any) -> Any:
        try:
            refuse_unusable_numbers(kwargs)
            return command(*args, **kwargs)
        except SrcliError as error:
            if state["debug"]:
                traceback.print_exc(file=sys.stderr)
            report.error(user_message(error))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (typer.Exit, typer.Abort):
            raise
        except Terminated:
            report.interrupted("stopped by SIGTERM")
            raise typer.Exit(EXIT_TERMINATED) from None
        except KeyboardInterrupt:
            report.interrupted("stopped by Ctrl-C")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own flush at exit then succeeds
            report.error("stdout was closed by its reader (a broken pipe): stopped")
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except Exception as error:  # not a known error: a bug, never disguised as bad input
            if (shortage := out_of_memory(error) or unusable_path(error)) is not None:
                report.error(shortage)
                raise typer.Exit(EXIT_BAD_INPUT) from None
            traceback.print_exc(file=sys.stderr)
            report.internal_error(f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error) else ''}")
            raise typer.Exit(EXIT_INTERNAL) from None

    return guarded_command  # type: ignore[return-value]


def user_message(error: SrcliError) -> str:
    """A known error's line as the command line says it: the flag where the error names a parameter."""
    if error.parameter is None:
        return str(error)
    return f"--{error.parameter.replace('_', '-')} {error.detail}"


def out_of_memory(error: BaseException) -> str | None:
    """The one line for an allocation that failed (Python's ``MemoryError``, torch's CPU or CUDA
    allocator), or None for any other error. Not a bug: the input and options ask for more memory
    than there is."""
    text = str(error)
    if not isinstance(error, MemoryError) and "can't allocate memory" not in text and "out of memory" not in text:
        return None
    asked = re.search(r"allocate (\d+) bytes", text)
    size = f" (an allocation of {int(asked.group(1)) / 2**30:.1f} GiB failed)" if asked else ""
    return f"out of memory{size}: use smaller tiles (--tile), a smaller image, batch or patch, or another device"


UNUSABLE_PATH = {
    errno.ENAMETOOLONG: "a file name too long for the file system",
    errno.ELOOP: "a loop of symbolic links",
}
"""The ``OSError`` numbers that say a path the user named cannot be used by any system call, and what it is."""


def unusable_path(error: BaseException) -> str | None:
    """The one line for a path no system call can use (a name too long, a symlink loop), or None. Not a bug:
    the path is the user's."""
    if not isinstance(error, OSError) or error.errno not in UNUSABLE_PATH:
        return None
    name = str(error.filename or "")
    shown = name if len(name) <= 60 else "…" + name[-59:]
    return f"{UNUSABLE_PATH[error.errno]}: {shown}"


def refuse_unusable_numbers(values: Mapping[str, Any]) -> None:
    """Refuse a float option that is NaN or infinite, or an integer beyond 64 bits, naming its flag.

    No option of srcli has a use for them, and each would otherwise travel into torch (an endless
    rounding, an overflow deep inside a seed); ranges particular to an option are the command's own.
    """
    for name, value in values.items():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            flag = "--" + name.replace("_", "-")  # Typer's own naming, which every numeric option keeps
            if isinstance(item, float) and not math.isfinite(item):
                raise OptionError(f"{flag} must be a finite number, got {item}")
            if isinstance(item, int) and not isinstance(item, bool) and not -INT64 <= item < INT64:
                raise OptionError(f"{flag} must lie within ±2^63, got {item}")


class OneLineErrors(TyperGroup):
    """The top command group: Click's own usage errors (an unknown option, a value of the wrong type or
    out of range, a missing argument) become one ``srcli: error:`` line with exit 2, like srcli's own."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[misc]
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[misc]
        except CLICK_ERRORS.ClickException as failure:
            if type(failure).__name__ == "NoArgsIsHelpError":  # a bare `srcli train`: its help, as Click gives it
                failure.show()
            else:
                context = getattr(failure, "ctx", None)
                hint = f" (see {context.command_path} --help)" if context is not None else ""
                report.error(" ".join(failure.format_message().split()) + hint)
            sys.exit(failure.exit_code)
        except typer.Abort:
            report.error("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


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
ExtOption = Annotated[
    Ext | None,
    typer.Option(
        help="Output format (png, tiff and webp stay exact, webp unless --quality; jpg is lossy) "
        "[default: png, or -o FILE's own].",
        show_default=False,
    ),
]


def chosen_ext(ext: Ext | None) -> str | None:
    """The ``--ext`` asked for, or None where it was not given (png, or ``-o FILE``'s own format)."""
    return ext.value if ext is not None else None


Quality = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=100,
        help="JPEG or WebP quality, 1 to 100 (lossy: the file is not exact) [default: JPEG 95, WebP lossless].",
        show_default=False,
    ),
]


def check_quality(quality: int | None, jobs: list) -> None:
    """Refuse ``--quality`` (one line) where a job's output is neither JPEG nor WebP."""
    if quality is None:
        return
    from srcli.io.images import LOSSY_FORMATS, SAVE_FORMATS

    for job in jobs:
        image_format = SAVE_FORMATS.get(job.suffix.lower(), job.suffix)
        if image_format not in LOSSY_FORMATS:
            where = "stdout" if job.target == "-" else job.target
            fail(f"--quality is for JPEG or WebP output, not {image_format} ({where}); pass --ext jpg or --ext webp")


Recursive = Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders; keep the tree under -o.")]
SkipExisting = Annotated[bool, typer.Option("--skip-existing", help="Leave inputs whose output exists.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table on stderr.")]
CPU_COUNT = os.cpu_count() or 1
PNG_LEVEL = 3  # srcli.io.images.PNG_LEVEL, which imports torch (tests/cli/test_startup.py checks they agree)
PngCompression = Annotated[
    int | None,
    typer.Option(
        "--png-compression",
        min=0,
        max=9,
        help=f"zlib level of PNG outputs, 0 (fastest, largest) to 9 (smallest, slowest); the pixels are the same "
        f"at every level [default: run-length matching (zlib's Z_RLE), measured 1.5× as fast as level 3 for 2.5 % "
        f"fewer bytes; {PNG_LEVEL} for 16-bit PNGs].",
        show_default=False,
    ),
]
Threads = Annotated[
    int | None, typer.Option(min=1, max=CPU_COUNT, help=f"CPU threads for torch, 1 to {CPU_COUNT} (one per core).")
]


def run_options(
    device: Device,
    tile: int | None,
    overlap: int | None,
    half: bool,
    no_pd: bool,
    ensemble: bool = False,
    ray: RaySettings | None = None,
    png_level: int | None = None,
    quality: int | None = None,
):
    """The engine's :class:`~srcli.tasks.run.RunOptions` from the command's options (checked). With
    ``ray`` the device is each worker's to resolve (:func:`srcli.tasks.raybatch.ray_records`), so here
    it stays the CPU and ``--half`` is checked against the cluster there."""
    from srcli.tasks.run import RunOptions, resolve_device

    resolved = resolve_device(device.value) if ray is None else resolve_device("cpu")
    if half and resolved.type != "cuda" and ray is None:
        raise OptionError("--half needs a CUDA device")
    if (overlap is not None and overlap < 0) or (tile is not None and tile < 0):
        raise OptionError("--tile and --tile-overlap must not be negative")
    return RunOptions(
        device=resolved,
        tile=tile,
        overlap=overlap,
        half=half,
        pd=not no_pd,
        ensemble=ensemble,
        png_level=png_level,
        quality=quality,
    )


def check_batch_options(output: str | None, json_output: bool, overwrite: bool, skip_existing: bool) -> None:
    """Refuse batch options that contradict each other (before any model is loaded)."""
    if overwrite and skip_existing:
        fail("--overwrite and --skip-existing contradict each other; pass one of them")
    refuse_stdout_twice(output, json_output)


def refuse_stdout_twice(output: object, json_output: bool, flag: str = "-o") -> None:
    """stdout carries the file (``-``) or the JSON records, never both; and never a file's bytes into a
    terminal (as gzip and curl refuse to)."""
    if str(output) == "-" and sys.stdout.isatty():
        fail(f"{flag} - would write binary data to this terminal; redirect stdout (> FILE, | CMD) or pass {flag} FILE")
    if str(output) == "-" and json_output:
        fail(
            f"{flag} - writes the file to stdout, where --json would write its record too; use {flag} FILE with --json"
        )


@dataclass(frozen=True)
class RaySettings:
    """Where a batch runs on Ray (``--ray``): the cluster to join (None: a new local Ray), how many
    workers (None: one per GPU, else per CPU) and the device each worker resolves for itself."""

    address: str | None
    workers: int | None
    device: str


def ray_settings(ray: bool, address: str | None, workers: int | None, device: Device) -> RaySettings | None:
    """The batch's :class:`RaySettings`, or None for this process; refuses ``--workers`` without Ray, and
    says how to install Ray where it is missing (before any model is loaded)."""
    if not ray and address is None:
        if workers is not None:
            fail("--workers is the number of Ray workers; pass --ray (or --ray-address) with it")
        return None
    try:
        import srcli.tasks.raybatch  # noqa: F401
    except ImportError as missing:
        if (missing.name or "").split(".")[0] not in ("ray", "pyarrow", "pandas"):
            raise
        fail("--ray needs Ray, which is not installed: pip install 'srcli[ray]'")
    return RaySettings(address, workers, device.value)


def run_jobs(
    jobs: list,
    task: Any,
    make_task: Callable[[Any], Any],
    overwrite: bool,
    skip_existing: bool,
    json_output: bool,
    quiet: bool,
    ray: RaySettings | None = None,
) -> None:
    """Run a batch with progress and a summary (see :func:`srcli.cli.report.run_batch`); exit 2 if every
    file failed (nothing written: bad input, as a single input that fails), 1 if some did and others were
    done or skipped, 130 when Ctrl-C stopped it, 143 when SIGTERM did.

    Here every file goes through :func:`srcli.tasks.run.run_job` with ``task``, or, for a batch of small files on a
    CPU of several cores, several at once (:mod:`srcli.tasks.pipeline`); with ``ray`` each Ray
    worker does the same with its own task, ``make_task(options)`` on its own device
    (:func:`srcli.tasks.raybatch.ray_records`)."""
    from srcli.tasks.pipeline import file_workers, pipelined_records
    from srcli.tasks.run import run_job

    debug = state["debug"]
    if ray is not None:
        from srcli.tasks.raybatch import RayBatch, ray_records

        batch = RayBatch(make_task, task.options, ray.device, overwrite, skip_existing, ray.workers, ray.address, debug)

        def records(starting: Callable) -> Iterator[dict[str, Any]]:
            return ray_records(jobs, batch, report.note if not quiet else lambda message: None)

    elif (workers := file_workers(task.options, jobs)) > 1:

        def records(starting: Callable) -> Iterator[dict[str, Any]]:
            return pipelined_records(jobs, task, make_task, overwrite, skip_existing, starting, workers, debug)

    else:

        def records(starting: Callable) -> Iterator[dict[str, Any]]:
            for job in jobs:
                yield run_job(job, task, overwrite, skip_existing, starting(job), debug)

    failed, reported, stopped = report.run_batch(len(jobs), records, json_output, quiet)
    if stopped is not None:
        raise typer.Exit(EXIT_TERMINATED if stopped == "SIGTERM" else EXIT_INTERRUPTED)
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT if failed == reported else EXIT_FAILED)


Ray = Annotated[
    bool,
    typer.Option(
        "--ray",
        help="Run the batch on a new local Ray: a pool of workers, each loading the model once "
        "(pip install 'srcli[ray]'). Records come as files finish.",
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDRESS",
        help="Run the batch on the Ray cluster at ADDRESS (HOST:PORT, ray://HOST:PORT, or auto: the one "
        "started on this machine); inputs, outputs and --model must be paths every worker sees.",
        show_default=False,
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Ray workers [default: one per GPU of the cluster, else one per CPU].",
        show_default=False,
    ),
]
