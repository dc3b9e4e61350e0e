"""Ctrl-C and ``kill`` as a request to stop at the next safe point, not in the middle of a step.

Long loops (training) check :attr:`StopRequest.requested` between steps, checkpoint and return;
a second Ctrl-C stops at once, as usual.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType


@dataclass
class StopRequest:
    requested: bool = False


@contextmanager
def stop_requests() -> Iterator[StopRequest]:
    """SIGINT and SIGTERM set ``requested`` for the duration of the block (main thread only;
    elsewhere nothing is caught); a second signal raises ``KeyboardInterrupt``."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if request.requested:
            raise KeyboardInterrupt
        request.requested = True

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
