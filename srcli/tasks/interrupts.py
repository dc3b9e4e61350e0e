"""Ctrl-C in a batch: honoured at once while a file is computed, held while one is written and reported.

A batch runs inside :func:`held_interrupts`: a SIGINT there is remembered, not raised, so a file that
is being written is finished, measured and its record printed; the batch then stops (it checks
:attr:`Held.pending` between files). Inside it, :func:`interruptible` opens the window in which a
file is read and computed: there a SIGINT (or one already pending) raises ``KeyboardInterrupt`` at
once, and nothing of that file is on disk yet. A second Ctrl-C while one is pending stops at once.

Outside :func:`held_interrupts` (a library call, another thread) both are no-ops and Ctrl-C behaves
as usual.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType


@dataclass
class Held:
    """The state of one :func:`held_interrupts` block."""

    pending: bool = False
    window_open: bool = False


_current: list[Held] = []


@contextmanager
def held_interrupts() -> Iterator[Held]:
    """Hold SIGINT for the block (main thread only), except inside :func:`interruptible` windows."""
    held = Held()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if held.window_open or held.pending:
            raise KeyboardInterrupt
        held.pending = True

    previous = signal.signal(signal.SIGINT, handle)
    _current.append(held)
    try:
        yield held
    finally:
        _current.remove(held)
        signal.signal(signal.SIGINT, previous)


@contextmanager
def interruptible() -> Iterator[None]:
    """A window of the innermost :func:`held_interrupts` block where Ctrl-C raises at once."""
    if not _current:
        yield
        return
    held = _current[-1]
    if held.pending:
        raise KeyboardInterrupt
    held.window_open = True
    try:
        yield
    finally:
        held.window_open = False
