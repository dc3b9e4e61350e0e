"""A batch on Ray Data (``srcli[ray]``): the same jobs, the same per-file engine, on a pool of workers.

The planned jobs (:func:`srcli.tasks.batch.plan_jobs`) become a Dataset of one row per file; a pool of
actors (``workers`` of them, one GPU each where the cluster has GPUs) each builds its task once (so the
model is loaded once per worker) and runs :func:`srcli.tasks.run.run_job` on every row it is given, as
the local batch does: the same refusal to overwrite, the same atomic writes, the same records. They
come back to the caller as files finish (in that order, not the jobs'). Inputs, outputs and models
are paths, so every worker must see them at the same place (shared storage).

A worker that dies (killed, out of memory, its machine lost) is restarted and its files run again
(the actor pool restarts actors and retries their tasks without limit): an atomic write leaves no
partial output, a file the dead worker had already written is recognised by its bytes (``retry`` of
:func:`srcli.tasks.run.run_file`), and the temporaries of writes cut short are removed when the batch
ends (:func:`srcli.io.atomic.remove_leftovers`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import socket
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import ray
import torch

from srcli.errors import OptionError, SrcliError
from srcli.io.atomic import remove_leftovers
from srcli.io.images import STDIO
from srcli.tasks.batch import Job
from srcli.tasks.interrupts import interruptible
from srcli.tasks.run import FileTask, RunOptions, error_line, resolve_device, run_job

JOIN_TIMEOUT_S = 10
"""Seconds to reach a cluster's address before it is refused (Ray itself retries for many minutes)."""
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
"""What a gRPC client says first (HTTP/2's preface, then an empty SETTINGS frame); a Ray cluster's
address answers with a SETTINGS frame of its own (type 4, the frame header's fourth byte)."""
HTTP2_SETTINGS = 4
COLUMNS = ("record", "failure", "traceback")
"""What a worker sends back for each file (:class:`_Worker`)."""
FILES_PER_BLOCK = 64
"""Files per Dataset block at most, once there are more than 16 blocks per worker: a block is the unit
Ray schedules, retries and streams back."""


@dataclass(frozen=True)
class RayBatch:
    """What every worker of a batch needs: ``make_task(options)`` builds the task where it runs, on
    ``device`` (``auto``, ``cpu``, ``cuda``, ``mps``) as that worker resolves it; ``workers`` None is
    one per GPU of the cluster, else one per CPU; ``address`` None starts a new local Ray."""

    make_task: Callable[[RunOptions], FileTask]
    options: RunOptions
    device: str
    overwrite: bool
    skip_existing: bool
    workers: int | None = None
    address: str | None = None
    debug: bool = False


@dataclass(frozen=True)
class Pool:
    """The actors a batch asks Ray for: how many, and the CPUs and GPUs each one holds."""

    workers: int
    cpus: float
    gpus: int

    def describe(self) -> str:
        each = f"{self.gpus} GPU" if self.gpus else f"{self.cpus:g} CPU"
        return f"{self.workers} worker(s), {each} each"


def ray_records(jobs: list[Job], batch: RayBatch, note: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    """The record of every job (:func:`srcli.tasks.run.run_job`), as Ray's workers finish them.

    ``note`` hears where the batch runs, and how many temporaries of cut-short writes were removed. A
    ``KeyboardInterrupt`` while waiting stops at once: the workers are stopped (a new local Ray is shut
    down), and a file they had not finished is not written (or, if they were writing it, complete).
    """
    if any(STDIO in (job.source, job.target) for job in jobs):
        raise OptionError("stdin and stdout are this process's own; a Ray batch reads and writes files")
    if not jobs:
        return
    import ray.data  # pyarrow and pandas: seconds, once a batch is really run

    try:
        with _session(batch.address) as where:
            pool = plan_pool(batch, ray.cluster_resources(), _largest_node_cpus(), len(jobs))
            note(f"Ray: {pool.describe()}, on {where}")
            dataset = ray.data.from_items(
                [{"job": json.dumps(dataclasses.asdict(job))} for job in jobs],
                override_num_blocks=_blocks(len(jobs), pool.workers),
            ).map_batches(
                _Worker,
                batch_size=1,
                compute=ray.data.ActorPoolStrategy(size=pool.workers),
                fn_constructor_args=(batch,),
                num_cpus=pool.cpus,
                num_gpus=pool.gpus,
            )  # Ray Data's actors restart, and retry their tasks, without limit (max_restarts=-1, max_task_retries=-1)
            rows = iter(dataset.iter_rows())
            try:
                while True:
                    with interruptible():
                        row = next(rows, None)
                    if row is None:
                        return
                    if row["failure"]:
                        raise SrcliError(row["failure"]) from RemoteTraceback(row["traceback"])
                    yield json.loads(row["record"])
            finally:
                close = getattr(rows, "close", None)
                if close is not None:
                    close()  # stops the pool's actors
    finally:
        removed = remove_leftovers(job.target for job in jobs)
        if removed:
            note(f"removed {removed} temporary file(s) of writes cut short by a worker's end")


def plan_pool(batch: RayBatch, resources: dict[str, float], node_cpus: float, files: int) -> Pool:
    """The actors for ``files`` files of ``batch`` on a cluster of ``resources`` (``CPU``, ``GPU``) whose
    largest machine has ``node_cpus``: one GPU each where the device allows and the cluster has GPUs; on
    CPUs, the cluster's CPUs shared out, as many as one machine holds at most. Never more workers than
    files."""
    cpus, gpus = resources.get("CPU", 0.0), int(resources.get("GPU", 0))
    use_gpu = batch.device in ("auto", "cuda") and gpus > 0
    if batch.device == "cuda" and not use_gpu:
        raise OptionError("device cuda was asked for, but the Ray cluster has no GPU")
    if batch.options.half and not use_gpu:
        raise OptionError("half precision needs a CUDA device, and the Ray cluster has no GPU")
    if use_gpu:
        workers = batch.workers or gpus
        if workers > gpus:
            raise OptionError(f"{workers} workers of one GPU each, but the Ray cluster has {gpus} GPU(s)")
        return Pool(min(workers, files), 1.0, 1)
    workers = batch.workers or max(1, int(cpus))
    if workers > cpus:
        raise OptionError(f"{workers} workers of one CPU at least, but the Ray cluster has {cpus:g} CPU(s)")
    workers = min(workers, files)
    return Pool(workers, float(max(1, min(int(cpus // workers), int(node_cpus)))), 0)


def _blocks(files: int, workers: int) -> int:
    """Dataset blocks for ``files``: one file each up to 16 blocks per worker, then up to
    :data:`FILES_PER_BLOCK` files each."""
    return max(1, min(files, max(16 * workers, math.ceil(files / FILES_PER_BLOCK))))


class _Worker:
    """One Ray actor of the pool: builds the task once, then runs each row's job with it.

    Each row comes back as ``record`` (JSON), or as ``failure`` (one line) and its ``traceback`` when the
    batch must stop: this worker cannot build the task (a model or device it does not have), or with
    ``debug`` a file's own error, which the local batch would raise too.
    """

    def __init__(self, batch: RayBatch) -> None:
        context = ray.get_runtime_context()
        cpus = context.get_assigned_resources().get("CPU")
        if cpus:
            torch.set_num_threads(max(1, int(cpus)))
        self.batch = batch
        self.failure: tuple[str, str] | None = None
        try:
            self.task = batch.make_task(dataclasses.replace(batch.options, device=resolve_device(batch.device)))
        except SrcliError as failure:
            self.failure = (error_line(failure), traceback.format_exc())
        # a restarted worker is given again the files its first life had not reported, which it may have written
        self.retry = context.was_current_actor_reconstructed

    def __call__(self, rows: dict[str, Any]) -> dict[str, list[str]]:
        results = [self._run(Job(**json.loads(str(text)))) for text in rows["job"]]
        return {column: [result[index] for result in results] for index, column in enumerate(COLUMNS)}

    def _run(self, job: Job) -> tuple[str, str, str]:
        if self.failure is not None:
            return "", *self.failure
        batch = self.batch
        try:
            record = run_job(job, self.task, batch.overwrite, batch.skip_existing, debug=batch.debug, retry=self.retry)
        except (SrcliError, OSError) as failure:  # raised with debug only: the file's error, for its traceback
            return "", error_line(failure), traceback.format_exc()
        return json.dumps(record), "", ""


class RemoteTraceback(Exception):
    """A worker's traceback, as the cause of the error it raised there (its text is the traceback)."""


@contextlib.contextmanager
def _session(address: str | None) -> Iterator[str]:
    """Ray for one batch, and where it runs: this process's own if it already runs Ray, else the cluster
    at ``address`` (joined, then left), else a new local Ray (started, then shut down).

    Ray prints its cluster's events (a worker that died, a task retried) to this process's
    ``sys.stdout`` from a thread of its own; stdout carries records, so meanwhile they go to stderr.
    Ray Data's own progress lines are left out (the batch has its own), and each record is sent back as
    soon as its file is done (a block of its own; Ray sends blocks, not rows).
    """
    import ray.data

    if address is not None:
        _reach(address)
    quiet = _QuietRayData()
    data_log, bars_log = logging.getLogger("ray.data"), logging.getLogger("ray.data._internal.progress")
    level = data_log.level
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="ray")  # Ray's advice on its own API, not the user's
        data_log.setLevel(logging.WARNING)  # not each dataset's start and end
        bars_log.addFilter(quiet)
        context = ray.data.DataContext.get_current()
        bars, size = context.enable_progress_bars, context.target_max_block_size
        context.enable_progress_bars = False
        context.target_max_block_size = 1  # each record a block of its own: it comes back as its file is done
        started = False
        try:
            if ray.is_initialized():
                where = "the Ray of this process"
            else:
                _init(address)
                started = True
                where = f"the Ray cluster at {address}" if address else f"a new local Ray of {os.cpu_count()} CPU(s)"
            yield where
        finally:
            if started:
                ray.shutdown()
            context.enable_progress_bars, context.target_max_block_size = bars, size
            bars_log.removeFilter(quiet)
            data_log.setLevel(level)


def _init(address: str | None) -> None:
    """Join the cluster at ``address``, or start a new local Ray (None); one line when it cannot."""
    local = {"include_dashboard": False} if address is None else {}
    try:
        # srcli's workers print nothing of use (a file's failure is in its record): their logs stay in Ray's
        ray.init(address=address or "local", log_to_driver=False, logging_level=logging.WARNING, **local)
    except (ConnectionError, RuntimeError, ValueError) as failure:
        what = f"join the Ray cluster at {address}" if address else "start a local Ray"
        raise OptionError(f"cannot {what}: {error_line(failure)}") from None


def _reach(address: str) -> None:
    """Refuse, in :data:`JOIN_TIMEOUT_S` at most, an address no Ray cluster answers at (Ray itself would
    try for many minutes): nothing listens there, or what listens does not speak gRPC (a dashboard's
    port, say). ``auto`` is Ray's to find; a TLS cluster's handshake is Ray's to make."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise OptionError(f"Ray address {address!r} must be HOST:PORT, ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=JOIN_TIMEOUT_S) as connection:
            if os.environ.get("RAY_USE_TLS", "0") in ("0", ""):
                connection.sendall(HTTP2_PREFACE)
                answer = connection.recv(9)
            else:
                answer = b""
    except OSError as failure:
        reason = failure.strerror or str(failure) or type(failure).__name__
        raise OptionError(f"cannot join the Ray cluster at {address}: {reason}") from None
    if answer and (len(answer) < 4 or answer[3] != HTTP2_SETTINGS):
        raise OptionError(
            f"cannot join the Ray cluster at {address}: what answers there is not Ray (give the head's "
            "address, HOST:6379 unless it was started with another --port)"
        )


def _largest_node_cpus() -> float:
    """The CPUs of the cluster's largest live machine."""
    return max((node["Resources"].get("CPU", 0.0) for node in ray.nodes() if node.get("Alive")), default=0.0)


class _QuietRayData(logging.Filter):
    """Leaves out Ray Data's line that says its progress bars are off (the batch shows its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Progress bars disabled" not in record.getMessage()
