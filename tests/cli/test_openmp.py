"""OpenMP's threads sleep at once on a busy machine, spin briefly on an idle one, and a policy the user set is kept."""

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


def test_passive_waits_on_a_busy_machine_a_short_spin_on_an_idle_one_and_never_over_the_users_choice():
    idle: dict[str, str] = {}
    assert choose_wait_policy(idle, busy=False) == "GOMP_SPINCOUNT=10000" and idle == {"GOMP_SPINCOUNT": "10000"}
    busy: dict[str, str] = {}
    assert choose_wait_policy(busy, busy=True) == "OMP_WAIT_POLICY=PASSIVE" and busy == {"OMP_WAIT_POLICY": "PASSIVE"}
    for mine in ({"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "1000"}):
        for state in (True, False):
            kept = dict(mine)
            assert choose_wait_policy(kept, busy=state) is None and kept == mine


def test_running_processes_counts_this_one():
    counted = running_processes()
    assert counted is None or counted >= 1


def test_the_command_chooses_before_torch_starts_openmp():
    code = (
        "import os, sys; import srcli.cli.openmp as o; o.machine_is_busy = lambda r, l: True; "
        "from srcli.cli import main; sys.argv = ['srcli', '--version']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'), 'torch' in sys.modules)"
    )
    env = {key: value for key, value in os.environ.items() if key not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.split()[-3:] == ["PASSIVE", "None", "False"]
    idle = subprocess.run(
        [sys.executable, "-c", code.replace("lambda r, l: True", "lambda r, l: False")],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert idle.stdout.split()[-3:] == ["None", "10000", "False"]
