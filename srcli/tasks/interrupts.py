"""Ctrl-C and SIGTERM in a batch: honoured at once while a file is computed, held while one is written and reported.

A batch runs inside :func:`held_interrupts`: a SIGINT or SIGTERM (``kill``, a scheduler ending a job) there is
remembered, not raised, so a file that is being written is finished, measured and its record printed; the batch
then stops (it checks :attr:`Held.pending` between files). Inside it, :func:`interruptible` opens the window in
which a file is read and computed: there a signal (or one already pending) raises ``KeyboardInterrupt`` (for
SIGTERM its subclass :class:`Terminated`) at once, and nothing of that file is on disk yet. A second signal while
one is pending stops at once.

Outside :func:`held_interrupts` (a library call) and outside the main thread both are no-ops and Ctrl-C behaves
as usual.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType


class Terminated(KeyboardInterrupt):
    """A stop asked for by SIGTERM, raised where Ctrl-C raises ``KeyboardInterrupt``."""


@dataclass
class Held:
    """The state of one :func:`held_interrupts` block; ``terminated``: the pending stop came from SIGTERM."""

    pending: bool = False
    window_open: bool = False
    terminated: bool = False

    def stop(self) -> KeyboardInterrupt:
        """The exception a pending stop raises."""
        return Terminated() if self.terminated else KeyboardInterrupt()


_current: list[Held] = []


@contextmanager
def held_interrupts() -> Iterator[Held]:
    """Hold SIGINT and SIGTERM for the block (main thread only), except inside :func:`interruptible` windows."""
    held = Held()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        held.terminated = held.terminated or signum == signal.SIGTERM
        if held.window_open or held.pending:
            raise held.stop()
        held.pending = True

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    _current.append(held)
    try:
        yield held
    finally:
        _current.remove(held)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def interruptible() -> Iterator[None]:
    """A window of the innermost :func:`held_interrupts` block where Ctrl-C and SIGTERM raise at once (signals
    reach the main thread only: in any other thread it is a no-op)."""
    if not _current or threading.current_thread() is not threading.main_thread():
        yield
        return
    held = _current[-1]
    if held.pending:
        raise held.stop()
    held.window_open = True
    try:
        yield
    finally:
        held.window_open = False
