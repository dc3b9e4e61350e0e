"""Ctrl-C during a long loop: the first asks it to stop at a safe point, the second stops at once."""

from __future__ import annotations

import os
import signal

import pytest

from srcli.train.interrupt import stop_requests


def test_first_signal_is_a_request_and_the_second_interrupts():
    with stop_requests() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
