"""OpenMP's threads sleep at once on a busy machine, spin on an idle one, and a policy the user set is kept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from srcli.cli.openmp import choose_wait_policy, machine_is_busy, running_processes


@pytest.mark.parametrize(
    ("running", "load", "busy"),
    [(1, 0.2, False), (2, 0.2, True), (1, 1.0, True), (None, 0.5, False), (None, None, False), (3, None, True)],
)
def test_busy_means_another_process_ready_now_or_a_core_of_load(running, load, busy):
    assert machine_is_busy(running, load) is busy


def test_passive_waits_only_on_a_busy_machine_and_never_over_the_users_choice():
    environ: dict[str, str] = {}
    assert choose_wait_policy(environ, busy=False) is None and environ == {}
    assert choose_wait_policy(environ, busy=True) == "PASSIVE" and environ == {"OMP_WAIT_POLICY": "PASSIVE"}
    for mine in ({"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "1000"}):
        kept = dict(mine)
        assert choose_wait_policy(kept, busy=True) is None and kept == mine


def test_running_processes_counts_this_one():
    counted = running_processes()
    assert counted is None or counted >= 1


def test_the_command_chooses_before_torch_starts_openmp():
    code = (
        "import os, sys; import srcli.cli.openmp as o; o.machine_is_busy = lambda r, l: True; "
        "from srcli.cli import main; sys.argv = ['srcli', '--version']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    )
    env = {key: value for key, value in os.environ.items() if key not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.split()[-2:] == ["PASSIVE", "False"]
