"""How torch's OpenMP threads wait, chosen when the command starts (before torch is imported).

libgomp lets a thread that finishes its share of an operator spin before it sleeps. On an idle machine that is
the fastest; while other processes hold the cores, the spinning thread takes the time slice its partner needs,
and two-thread work runs 3.5–17× slower than with threads that sleep at once (``OMP_WAIT_POLICY=PASSIVE``), which
costs 1.3–1.8× on an idle machine (``benchmarks/results/omp-wait-policy-*.json``). So srcli asks for passive
waits when the machine is busy as it starts, and leaves libgomp's default otherwise; a policy set in the
environment is kept.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def running_processes() -> int | None:
    """Processes (threads) running or ready to run right now, this one included (``/proc/stat``); None where
    unknown."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            for line in stat:
                if line.startswith("procs_running"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def machine_is_busy(running: int | None, load: float | None) -> bool:
    """Whether other work holds a core: another process ready to run now, or a 1-minute load average of a core
    or more."""
    return (running is not None and running > 1) or (load is not None and load >= 1.0)


def choose_wait_policy(environ: MutableMapping[str, str], busy: bool) -> str | None:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` in ``environ`` where the machine is ``busy`` and neither variable of
    :data:`VARIABLES` is set; returns the value set, or None."""
    if not busy or any(name in environ for name in VARIABLES):
        return None
    environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return "PASSIVE"


def choose_for_this_machine() -> str | None:
    """:func:`choose_wait_policy` for this process, from this machine's state now."""
    try:
        load: float | None = os.getloadavg()[0]
    except OSError:
        load = None
    return choose_wait_policy(os.environ, machine_is_busy(running_processes(), load))
