"""Nothing hangs, nothing leaks, every mistake gets one line (issue 28).

Every case is a real command line in its own process, under a memory and a time limit
(:mod:`tests.sandbox`), judged by one contract (:func:`tests.fuzzcases.judge`): the documented exit
status, no traceback, one line on stderr when it fails, nothing left behind, outputs with the
permissions a plain write gives. Hypothesis draws numeric option values, output specs and checkpoint
corruptions; the default run tries a few of each (about 20 s), ``-m slow`` many more.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzcases import (
    BASES,
    CORRUPTIONS,
    EXTS,
    FLAG_SETS,
    INPUT_SETS,
    NOT_NUMBERS,
    NUMERIC,
    OUTPUT_SPECS,
    Case,
    app_parameters,
    checkpoint_case,
    issue_cases,
    make_assets,
    numeric_case,
    option_cases,
    output_case,
    run_case,
)
from tests.sandbox import Sandbox

QUICK = settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
THOROUGH = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as zygote:
        yield zygote


@pytest.fixture(scope="module")
def assets(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("robustness") / "assets"
    make_assets(folder)
    return folder


_counter = itertools.count()


def holds(sandbox, assets: Path, case: Case) -> None:
    """Run ``case`` in a fresh copy of the assets and fail with every broken promise."""
    work = Path(tempfile.mkdtemp(prefix="case-", dir=assets.parent)) / f"c{next(_counter)}"
    try:
        verdict = run_case(sandbox, case, assets, work)
    finally:
        shutil.rmtree(work.parent, ignore_errors=True)
    assert not verdict.problems, f"{case.name}: {verdict.problems}\nstderr: {verdict.outcome.stderr[-2000:]}"


def number_text(kind: type) -> st.SearchStrategy[str]:
    """What a user might type for a number: ordinary, zero, negative, huge, non-finite, not a number."""
    special = st.sampled_from(["nan", "inf", "-inf", "0", "-0", "-1", "1e300", "5e-324", str(2**63), "1.5"])
    ints = st.one_of(st.integers(-3, 20), st.integers(-(2**80), 2**80)).map(str)
    floats = st.floats(allow_nan=True, allow_infinity=True).map(repr)
    return st.one_of(special, ints if kind is int else floats, st.sampled_from(NOT_NUMBERS))


@st.composite
def numeric_cases(draw) -> Case:
    option = draw(st.sampled_from(NUMERIC))
    return numeric_case(option, draw(number_text(option.kind)))


@st.composite
def output_cases(draw) -> Case:
    return output_case(
        draw(st.sampled_from(INPUT_SETS)),
        draw(st.sampled_from(OUTPUT_SPECS)),
        draw(st.sampled_from(FLAG_SETS)),
        draw(st.sampled_from(EXTS)),
    )


@st.composite
def checkpoint_cases(draw) -> Case:
    return checkpoint_case(draw(st.sampled_from(CORRUPTIONS)), draw(st.floats(0, 1, exclude_max=True)))


@pytest.mark.parametrize("case", issue_cases(), ids=lambda case: case.name)
def test_each_case_of_the_issue_keeps_the_contract(sandbox, assets, case):
    holds(sandbox, assets, case)


@QUICK
@given(case=numeric_cases())
def test_numeric_options_are_used_in_their_range_and_refused_outside_it(sandbox, assets, case):
    holds(sandbox, assets, case)


@QUICK
@given(case=output_cases())
def test_output_specs_go_where_documented_or_are_refused_leaving_nothing(sandbox, assets, case):
    holds(sandbox, assets, case)


@QUICK
@given(case=checkpoint_cases())
def test_corrupted_checkpoints_are_refused_in_one_line_and_never_run_code(sandbox, assets, case):
    holds(sandbox, assets, case)


OPTION_CASES = [case for _, case in option_cases()]


@QUICK
@given(case=st.sampled_from(OPTION_CASES))
def test_every_option_of_every_command_keeps_the_contract(sandbox, assets, case):
    """Any parameter of any command (read from the Typer app) with a value of its kind or an odd input image."""
    holds(sandbox, assets, case)


def test_every_command_of_the_app_has_a_base_line_so_its_options_are_in_the_grid():
    commands = {parameter.command for parameter in app_parameters()}
    assert commands <= set(BASES), f"no base command line for {sorted(commands - set(BASES))}"
    tried = {(case.args[0], case.args[1] if case.args[0] in ("train", "cs", "models") else "") for case in OPTION_CASES}
    assert {(c[0], c[1] if len(c) > 1 else "") for c in BASES} <= tried


@pytest.mark.slow
@THOROUGH
@given(case=st.one_of(numeric_cases(), output_cases(), checkpoint_cases(), st.sampled_from(OPTION_CASES)))
def test_many_more_cases_keep_the_contract(sandbox, assets, case):
    holds(sandbox, assets, case)


def test_a_hang_fails_the_case_instead_of_the_machine(sandbox, tmp_path):
    """The limits themselves: a command that never ends (stdin a pipe nobody writes to) is killed and judged hung."""
    from tests import fuzzcases

    os.mkfifo(tmp_path / "never")
    (tmp_path / "work").mkdir()
    outcome = sandbox.run(["upscale", "-", "-o", "out.png"], tmp_path / "work", stdin=tmp_path / "never", timeout=1)
    waits = Case("waits for stdin", ("upscale", "-", "-o", "out.png"), frozenset({0}))
    verdict = fuzzcases.judge(waits, outcome, tmp_path / "work", {}, {})
    assert outcome.timed_out and outcome.seconds < 5 and verdict.problems[0].startswith("hung")
