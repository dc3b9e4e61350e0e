"""Ctrl-C and SIGTERM in a batch: at once while a file is computed, after it while it is written."""

from __future__ import annotations

import signal

import pytest

from srcli.tasks.interrupts import Terminated, held_interrupts, interruptible


def ctrl_c() -> None:
    """SIGINT to this thread, handled before the call returns (``os.kill`` may deliver it to another
    thread of the process, and the handler then runs later, outside the block under test)."""
    signal.raise_signal(signal.SIGINT)


def test_held_outside_a_window_and_raised_inside_one():
    before = signal.getsignal(signal.SIGINT)
    with held_interrupts() as held:
        ctrl_c()  # while a file is written: remembered
        assert held.pending
        with pytest.raises(KeyboardInterrupt), interruptible():  # the next file does not start
            pass
    assert signal.getsignal(signal.SIGINT) is before


def test_a_signal_inside_the_window_raises_at_once():
    with held_interrupts() as held, pytest.raises(KeyboardInterrupt), interruptible():
        ctrl_c()
        raise AssertionError("went on after Ctrl-C")
    assert not held.window_open


def test_sigterm_is_held_like_ctrl_c_and_raised_as_terminated():
    before = signal.getsignal(signal.SIGTERM)
    with held_interrupts() as held:
        signal.raise_signal(signal.SIGTERM)
        assert held.pending and held.terminated
        with pytest.raises(Terminated), interruptible():
            pass
    with held_interrupts(), pytest.raises(Terminated), interruptible():
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_second_signal_while_one_is_pending_stops_at_once():
    with held_interrupts() as held:
        ctrl_c()
        with pytest.raises(KeyboardInterrupt):
            ctrl_c()
        assert held.pending


def test_outside_a_batch_the_window_changes_nothing(monkeypatch):
    # as outside any batch: Python's own handler, whatever the tests before left (none leaks one now: the CLI
    # interrupt tests raise their signals in this thread; os.kill could deliver one late, to another thread)
    monkeypatch.setattr("srcli.tasks.interrupts._current", [])
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    with interruptible():
        pass
    with pytest.raises(KeyboardInterrupt), interruptible():
        ctrl_c()
    signal.signal(signal.SIGINT, previous)
