"""How torch's OpenMP threads wait, chosen when the command starts (before torch is imported).

libgomp lets a thread that finishes its share of an operator spin before it sleeps (300 000 turns by default).
While other processes hold the cores, the spinning thread takes the time slice its partner needs, and two-thread
work runs 3.5–17× slower than with threads that sleep at once (``OMP_WAIT_POLICY=PASSIVE``), which costs 1.3–1.8×
on an idle machine (``benchmarks/results/omp-wait-policy-*.json``). A batch of small files computed side by side
(:mod:`srcli.tasks.pipeline`) is its own neighbour: on an idle machine 8 JPEGs of 512² → ×4 took 7.7 s with the
default spin and 5.6 s with either passive waits or a short spin (``GOMP_SPINCOUNT=10000``), which costs a single
picture 4 % against the default (and a loaded machine 2.7×, against the default's 17×). So srcli asks for passive
waits where the machine is busy as it starts and for the short spin elsewhere; a setting in the environment is
kept.
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


SHORT_SPIN = "10000"
"""``GOMP_SPINCOUNT`` on an idle machine: most of the default spin's speed for one picture, none of its cost to
files side by side."""


def choose_wait_policy(environ: MutableMapping[str, str], busy: bool) -> str | None:
    """Where neither variable of :data:`VARIABLES` is set in ``environ``, set ``OMP_WAIT_POLICY=PASSIVE`` if the
    machine is ``busy``, else ``GOMP_SPINCOUNT`` to :data:`SHORT_SPIN`; returns the setting made, or None."""
    if any(name in environ for name in VARIABLES):
        return None
    name, value = ("OMP_WAIT_POLICY", "PASSIVE") if busy else ("GOMP_SPINCOUNT", SHORT_SPIN)
    environ[name] = value
    return f"{name}={value}"


def choose_for_this_machine() -> str | None:
    """:func:`choose_wait_policy` for this process, from this machine's state now."""
    try:
        load: float | None = os.getloadavg()[0]
    except OSError:
        load = None
    return choose_wait_policy(os.environ, machine_is_busy(running_processes(), load))
