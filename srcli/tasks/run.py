"""The one engine every task runs on a file: read → tiles → network → operator → encode → write → measure.

A task (:class:`FileTask`) says how to read its input, restore it (usually with :func:`fill_tiles`:
the network on overlapping tiles, each tile core finished by the task's operator, ``quantize`` or
``project``), encode the result and measure the saved bytes; :func:`run_file` does the rest the same
way for all of them: refuse to clobber before any work, write atomically, time, record.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from srcli.errors import ModelError, OptionError, SrcliError
from srcli.io.images import STDIO, write_bytes_atomic
from srcli.maths.tiling import Tile, plan_tiles, tile_apply
from srcli.tasks.batch import Job
from srcli.tasks.interrupts import interruptible


class TileCallback(Protocol):
    """Called with ``(tiles done, tiles in all)`` after every tile, and with ``(steps done, steps planned,
    "projecting")`` as a long projection goes (its plan a forecast that may move)."""

    def __call__(self, done: int, total: int, stage: str = "tiles", /) -> None: ...


ACCELERATE_VARIABLE = "SRCLI_ACCELERATE"
"""The environment variable that chooses the network path: ``0`` (or ``false``, ``no``, ``off``) plain eager
float32, ``fp32`` channels-last float32, anything else (the default) channels-last with bfloat16 where
:func:`srcli.tasks.sr.runs_in_bf16` says so."""

_OFF = ("0", "false", "no", "off")


def _accelerate_setting() -> str:
    return os.environ.get(ACCELERATE_VARIABLE, "1").strip().lower()


def accelerate_from_environment() -> bool:
    """Whether the accelerated network path (channels-last) is on: unless :data:`ACCELERATE_VARIABLE` says ``0``."""
    return _accelerate_setting() not in _OFF


def bf16_from_environment() -> bool:
    """Whether bfloat16 may run on a CPU that computes it natively: unless :data:`ACCELERATE_VARIABLE` is ``0`` or
    ``fp32``."""
    return _accelerate_setting() not in (*_OFF, "fp32") and cpu_computes_bf16()


@functools.cache
def cpu_computes_bf16() -> bool:
    """Whether this CPU has bfloat16 dot products in hardware (AVX512-BF16 or AMX-BF16, read from
    ``/proc/cpuinfo``), where oneDNN's bfloat16 convolutions beat float32; False where that cannot be read."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            flags = next((line.split(":", 1)[1].split() for line in info if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@dataclass(frozen=True)
class RunOptions:
    """How to run a network: where, in what precision, in what tiles, with or without PD, alone
    or as a self-ensemble (:class:`srcli.maths.ensemble.SelfEnsemble`). ``tile`` None is automatic, 0 whole;
    ``overlap`` None is the task's own (SR: from the model's receptive radius); ``correction`` None is
    the model's own (:attr:`srcli.archs.Model.correction`)."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    tile: int | None = None
    overlap: int | None = None
    half: bool = False
    pd: bool = True
    ensemble: bool = False
    correction: str | None = None
    feather: int | None = None  # SR: LR pixels of blend at core borders; None automatic, 0 none
    resample: str | None = None  # SR at a scale no model has: how a larger estimate is resampled; None default
    quality: int | None = None  # of a JPEG or WebP output (srcli.io.images.encode_picture); None: its default
    png_level: int | None = None  # zlib level of PNG outputs; None: srcli.io.images.PNG_LEVEL
    # the accelerated network path (channels-last convolutions); off: plain eager torch, the fallback
    accelerate: bool = field(default_factory=accelerate_from_environment)
    # srcli's own compact SR nets in bfloat16 on a CPU that computes it natively (srcli.tasks.sr.runs_in_bf16)
    cpu_bf16: bool = field(default_factory=bf16_from_environment)

    @property
    def dtype(self) -> torch.dtype:
        return torch.float16 if self.half else torch.float32

    @property
    def memory_format(self) -> torch.memory_format:
        """Channels-last where accelerated (measured 1.4–2.4× contiguous for compact nets on CPU, see
        benchmarks/README.md), contiguous otherwise."""
        return torch.channels_last if self.accelerate else torch.contiguous_format

    @property
    def network_path(self) -> str:
        """What the record calls the way the network ran."""
        return "eager channels_last" if self.accelerate else "eager (SRCLI_ACCELERATE=0)"


@dataclass
class Timings:
    """Seconds spent in the network and in the operator's finish (PD, quantisation, copying), the tile side
    each stage ran with, and the network path where it depends on the model."""

    network: float = 0.0
    projection: float = 0.0
    tiles: list[int] = field(default_factory=list)
    network_path: str | None = None  # set where the path depends on the model: None, the options' own

    @contextlib.contextmanager
    def projection_inside(self) -> Iterator[None]:
        """Book the time of the block it wraps, PD done inside a tile's run (a correction on its window), to the
        projection: :func:`timed_tiles` books the whole run to the network."""
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            self.network -= seconds
            self.projection += seconds


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA, else MPS, else CPU; a named device must be available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise OptionError("device cuda was asked for, but no CUDA device is available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise OptionError("device mps was asked for, but MPS is not available")
    if name not in ("cpu", "cuda", "mps"):
        raise OptionError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def timed_tiles(
    run: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    tile: int,
    overlap: int,
    scale: int,
    timings: Timings,
    on_tile: TileCallback | None,
    feather: int = 0,
) -> Iterator[tuple[Tile, torch.Tensor]]:
    """:func:`srcli.maths.tiling.tile_apply` that books the time spent making each core to
    ``timings.network``, the caller's work on it (PD, quantisation, copying) to
    ``timings.projection``, and reports progress after each tile."""
    total = len(plan_tiles(x.shape[-2], x.shape[-1], tile, overlap))
    started = time.perf_counter()
    for done, (region, core) in enumerate(tile_apply(run, x, tile, overlap, scale, feather), start=1):
        handed_over = time.perf_counter()
        timings.network += handed_over - started
        yield region, core
        started = time.perf_counter()
        timings.projection += started - handed_over
        if on_tile:
            on_tile(done, total)


OUTPUT_LIMIT = 1e6
"""The largest magnitude a network's output may have, in image ranges (outputs are about [0, 1]): far
beyond any working network, and small enough that quantising in float32 cannot overflow."""

Finish = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]
"""``finish(core, measured, out)``: write the final values of one tile core into ``out`` (a view of the
result), from the network's ``core`` ``(1, C, s·h, s·w)`` and the input ``measured`` ``(1, C', h, w)``."""


def fill_tiles(
    run: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    measured: torch.Tensor,
    out: torch.Tensor,
    finish: Finish,
    tile: int,
    overlap: int,
    scale: int,
    timings: Timings,
    on_tile: TileCallback | None,
    feather: int = 0,
) -> torch.Tensor:
    """Run ``run`` over ``x`` ``(1, C, h, w)`` in tiles and let ``finish`` write each core into ``out``
    ``(C'', s·h, s·w)`` against the matching part of ``measured`` ``(C', h, w)``; returns ``out``.

    Tile borders fall on input pixel borders, so a core's operator blocks are whole and the result is
    the same, tiled or not, up to what the network itself sees differently at tile borders; ``feather``
    > 0 blends neighbouring windows over that many input pixels (:func:`srcli.maths.tiling.feathered_apply`).
    A core holding NaN, infinity or values beyond ±``OUTPUT_LIMIT`` (broken weights, or settings that
    overflow the network) is refused before it reaches the operator: :class:`ModelError`.
    """
    for region, core in timed_tiles(run, x, tile, overlap, scale, timings, on_tile, feather):
        low, high = core.aminmax()  # NaN propagates into both
        if not -OUTPUT_LIMIT <= low.item() <= high.item() <= OUTPUT_LIMIT:
            raise ModelError(
                f"the model produced {'NaN or infinite' if not torch.isfinite(low + high) else 'absurd'} values "
                f"(from {low.item():.3g} to {high.item():.3g}); its weights or settings cannot be used"
            )
        part = measured[..., region.top : region.bottom, region.left : region.right].unsqueeze(0)
        target = out[..., region.top * scale : region.bottom * scale, region.left * scale : region.right * scale]
        finish(core, part, target.unsqueeze(0))
    return out


def run_record(options: RunOptions, timings: Timings, started: float) -> dict[str, Any]:
    """The part of a file's JSON record that says how it ran: device, PD, tile and the seconds
    since ``started`` (a ``time.perf_counter()`` value), split into network and projection."""
    return {
        "device": describe_device(options.device),
        "pd": options.pd,
        "ensemble": options.ensemble,
        "network_path": timings.network_path or options.network_path,
        "tile": timings.tiles[0] if timings.tiles else None,
        "seconds": round(time.perf_counter() - started, 3),
        "network_seconds": round(timings.network, 3),
        "projection_seconds": round(timings.projection, 3),
    }


class FileTask(Protocol):
    """One task of the engine: what it reads, how it restores and encodes, what it measures."""

    @property
    def name(self) -> str:
        """What the record calls the task (``sr``, ``colorize``, ``cs``)."""
        ...

    @property
    def options(self) -> RunOptions:
        """How the network runs."""
        ...

    def read(self, source: str) -> Any:
        """The task's input from a path (or ``-``); raises a :class:`srcli.errors.SrcliError` when unusable."""
        ...

    def check_target(self, job: Job, overwrite: bool) -> None:
        """Refuse, before any work, an output that may not be written."""
        ...

    def restore(self, item: Any, timings: Timings, on_tile: TileCallback | None) -> Any:
        """The restored result of one input."""
        ...

    def encode(self, result: Any, suffix: str) -> tuple[bytes, Any]:
        """The bytes of the output file, and what :meth:`record` needs of the result beside them
        (None for most tasks: the result itself is freed before the saved file is measured)."""
        ...

    def record(self, item: Any, data: bytes, kept: Any, job: Job) -> dict[str, Any]:
        """What the report says of this file: model, sizes, and the consistency of the saved ``data``."""
        ...


@dataclass
class Computed:
    """A file restored, encoded and measured, not yet written: its ``data`` and its JSON ``record``;
    ``earlier``: a retried job whose output may be its dead attempt's (:func:`run_file`)."""

    job: Job
    data: bytes
    record: dict[str, Any]
    earlier: bool = False


def compute_file(
    job: Job, task: FileTask, overwrite: bool, on_tile: TileCallback | None = None, retry: bool = False
) -> Computed:
    """Read, restore, encode and measure one file (the first half of :func:`run_file`); nothing is written.
    Ctrl-C stops it at once (:func:`srcli.tasks.interrupts.interruptible`)."""
    started = time.perf_counter()
    earlier = retry and not overwrite and job.target != STDIO and Path(job.target).exists()
    task.check_target(job, overwrite or earlier)  # every other check of the target still holds
    timings = Timings()
    with interruptible():
        item = task.read(job.source)
        result = task.restore(item, timings, on_tile)
        data, kept = task.encode(result, job.suffix)
        del result  # the saved file is measured from its bytes; free the pixels first
    record = {
        "input": job.source,
        "output": job.target,
        "task": task.name,
        **task.record(item, data, kept, job),
        **run_record(task.options, timings, started),
        "error": None,
    }
    return Computed(job, data, record, earlier)


def write_file(computed: Computed, overwrite: bool) -> dict[str, Any]:
    """Write a computed file atomically (the second half of :func:`run_file`); returns its record."""
    job = computed.job
    if not computed.earlier or not _holds(job.target, computed.data):
        write_bytes_atomic(computed.data, job.target, overwrite, make_folders=job.make_folders)
    return computed.record


def run_file(
    job: Job, task: FileTask, overwrite: bool, on_tile: TileCallback | None = None, retry: bool = False
) -> dict[str, Any]:
    """Read, restore, measure, write atomically; returns the file's JSON record (DESIGN §4).

    Nothing is written when any step fails, and an existing output is refused before any work. In a
    batch (:func:`srcli.tasks.interrupts.held_interrupts`) Ctrl-C stops at once while the file is
    read and computed, and waits while it is measured and written, so a written file has its record.

    ``retry``: the job may be run again after a worker died (:mod:`srcli.tasks.raybatch`), perhaps
    after the dead attempt wrote its output. Then an existing output is refused only after the work,
    unless it holds exactly the bytes this run makes: that is the earlier attempt's file, left as it
    is and reported as this run's.
    """
    return write_file(compute_file(job, task, overwrite, on_tile, retry), overwrite)


def _holds(path: str, data: bytes) -> bool:
    """Whether the file at ``path`` holds exactly ``data``."""
    try:
        return os.path.getsize(path) == len(data) and Path(path).read_bytes() == data
    except OSError:
        return False


def run_job(
    job: Job,
    task: FileTask,
    overwrite: bool,
    skip_existing: bool,
    on_tile: TileCallback | None = None,
    debug: bool = False,
    retry: bool = False,
) -> dict[str, Any]:
    """One file of a batch, whichever engine runs it: its record from :func:`run_file`, a ``skipped``
    record when ``skip_existing`` finds its output, or a record with ``error`` (one line) when the file
    cannot be done, so the batch goes on. Any other exception is a bug and propagates; with ``debug``
    the file's own error propagates too (for its traceback)."""
    return finish_job(compute_job(job, task, overwrite, skip_existing, on_tile, debug, retry), overwrite, debug)


def compute_job(
    job: Job,
    task: FileTask,
    overwrite: bool,
    skip_existing: bool,
    on_tile: TileCallback | None = None,
    debug: bool = False,
    retry: bool = False,
) -> Computed | dict[str, Any]:
    """The first half of :func:`run_job`: the file computed (:func:`compute_file`), or its final record
    (skipped, or the one-line error)."""
    if skip_existing and job.target != STDIO and Path(job.target).exists():
        return {"input": job.source, "output": job.target, "skipped": True, "error": None}
    try:
        return compute_file(job, task, overwrite, on_tile, retry)
    except (SrcliError, OSError) as failure:  # this file cannot be done; any other error is a bug
        return _failed(job, failure, debug)


def finish_job(outcome: Computed | dict[str, Any], overwrite: bool, debug: bool = False) -> dict[str, Any]:
    """The second half of :func:`run_job`: a computed file written (:func:`write_file`), its record returned."""
    if not isinstance(outcome, Computed):
        return outcome
    try:
        return write_file(outcome, overwrite)
    except (SrcliError, OSError) as failure:
        return _failed(outcome.job, failure, debug)


def _failed(job: Job, failure: SrcliError | OSError, debug: bool) -> dict[str, Any]:
    """The record of a file that cannot be done (its error in one line); with ``debug`` the error propagates."""
    if debug:
        raise failure
    return {"input": job.source, "output": None, "error": error_line(failure)}


def error_line(failure: BaseException) -> str:
    """The one line a record (or the command line) gives for a known error."""
    lines = str(failure).strip().splitlines()
    return lines[0] if lines else type(failure).__name__
