"""A batch on the CPU's cores: small files computed side by side in threads, written in order.

A small picture's network parallelises poorly over cores, and reading, encoding and measuring a file (Pillow,
zlib) use one core, so on a CPU a batch of small pictures runs faster as several files at once, each on its
share of the cores, than as one file at a time on all of them. :func:`pipelined_records` keeps ``workers``
files in flight, each computed (:func:`srcli.tasks.run.compute_job`) by a task of its own in its own thread,
and writes them and yields their records in input order from the calling thread. Interrupts hold as in a
one-file-at-a-time batch (:mod:`srcli.tasks.interrupts`): Ctrl-C stops at once while files are computed (none
of them is written; the threads stop at their next tile), and waits while one is written.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import torch

from srcli.io.images import STDIO, header_pixels
from srcli.tasks.batch import Job
from srcli.tasks.interrupts import interruptible
from srcli.tasks.run import (
    Computed,
    FileTask,
    RunOptions,
    TileCallback,
    accelerate_from_environment,
    compute_job,
    finish_job,
)

MAX_WORKERS = 4
"""At most this many files in flight (their pictures are all in memory at once)."""

SMALL_INPUT = 600_000
"""Inputs of at most this many pixels (by their headers; 800×600 is 480 000) are small enough to compute side
by side: at ×8 two such files in flight hold about 3 GB of float32 output between them."""


def file_workers(options: RunOptions, jobs: list[Job]) -> int:
    """How many files of ``jobs`` to compute at once: one per torch thread (at most :data:`MAX_WORKERS`) for a
    batch of two or more small inputs (:data:`SMALL_INPUT`) on the CPU; else 1 (also when ``SRCLI_ACCELERATE``
    is 0)."""
    workers = min(torch.get_num_threads(), MAX_WORKERS, len(jobs))
    if workers < 2 or options.device.type != "cpu" or not accelerate_from_environment():
        return 1
    for job in jobs:
        pixels = None if job.source == STDIO else header_pixels(job.source)
        if pixels is None or pixels > SMALL_INPUT:
            return 1
    return workers


class Cancelled(Exception):
    """Raised in a file's thread at its next tile once the batch has stopped."""


class Relay:
    """A file's tile progress, passed on to the batch's display once the file is the one shown."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.target: TileCallback | None = None

    def show(self, target: TileCallback | None) -> None:
        self.target = target

    def __call__(self, done: int, total: int, stage: str = "tiles", /) -> None:
        if self.stop.is_set():
            raise Cancelled
        if self.target is not None:
            self.target(done, total, stage)


def pipelined_records(
    jobs: list[Job],
    task: FileTask,
    make_task: Callable[[RunOptions], FileTask],
    overwrite: bool,
    skip_existing: bool,
    starting: Callable[[Job], TileCallback | None],
    workers: int,
    debug: bool = False,
) -> Iterator[dict[str, Any]]:
    """The records of ``jobs``, in order, ``workers`` files computed at once: the first thread with ``task``, each
    other with ``make_task(task.options)``, each on ``torch.get_num_threads() // workers`` threads. ``starting(job)``
    is called as a file becomes the one awaited; its tile progress goes to what it returns."""
    stop = threading.Event()
    own = threading.local()
    spare = [task]
    lock = threading.Lock()

    def compute(job: Job, relay: Relay) -> Computed | dict[str, Any]:
        if not hasattr(own, "task"):
            with lock:
                own.task = spare.pop() if spare else None
            if own.task is None:
                own.task = make_task(task.options)
        return compute_job(job, own.task, overwrite, skip_existing, relay, debug)

    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, threads // workers))  # read by each new thread at its first parallel op
    pool = ThreadPoolExecutor(workers, thread_name_prefix="srcli-file")
    in_flight: deque[tuple[Job, Relay, Future]] = deque()
    waiting = iter(jobs)

    def submit() -> None:
        job = next(waiting, None)
        if job is not None:
            relay = Relay(stop)
            in_flight.append((job, relay, pool.submit(compute, job, relay)))

    try:
        for _ in range(workers):
            submit()
        while in_flight:
            job, relay, future = in_flight.popleft()
            relay.show(starting(job))
            with interruptible():
                outcome = future.result()
            submit()
            yield finish_job(outcome, overwrite, debug)
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(threads)
