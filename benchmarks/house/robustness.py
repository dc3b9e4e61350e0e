"""How srcli answers what a new user gets wrong (issue 28): every case of a fixed grid, run as a real
command under a memory and time limit, held to one contract (tests/fuzzcases.py: the documented
exit status, one line on stderr when it fails, no traceback, nothing left behind).

The grid: every numeric option of every command × NUMBERS (NaN, ±inf, 0, negative, huge, non-integer,
not a number), upscale's output specs × input sets × flags (and every --ext to stdout), corrupted
checkpoints (every corruption × 8 positions), the cases of the issues, and every parameter of every command
read from the Typer app (``fuzzcases.option_cases``: values of its kind, input images of every kind a user
has, JPEGs cut short, damaged or CMYK among them). Usage:

    python benchmarks/house/robustness.py [--out benchmarks/results/robustness.json] \
        [--root TREE --commit C] [--timeout S]
        [--group issue|numeric|output|checkpoint|option]

``--root`` runs another source tree's srcli on the same cases (the baseline before the fixes:
``git archive 4f170e6 | tar -x -C /tmp/base``, then ``--root /tmp/base --commit 4f170e6``);
``--timeout`` shortens the seconds before a case counts as hung.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared harness
from harness import ROOT, machine

sys.path.insert(0, str(ROOT))

from tests import fuzzcases
from tests.sandbox import Sandbox

POSITIONS = (0.0, 0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95)
MAX_LISTED = 60
"""Failing cases listed in full (all are counted, by kind, in ``problem_kinds``)."""


def kind(problem: str) -> str:
    """A problem without its particulars: ``exit 70, documented [2]``, ``left behind``, ``3 lines on stderr``."""
    head = problem.split(":")[0]
    if "lines on stderr" in head:
        return "not one line on stderr"
    if head.startswith("the error line lacks"):
        return "the error line does not name the cause"
    if " has mode " in head:
        return "an output's permissions are not a plain write's"
    return head[:60]


def grid() -> list[tuple[str, fuzzcases.Case]]:
    """``(group, case)`` for every case the benchmark runs, in a fixed order."""
    cases = [("issue", case) for case in fuzzcases.issue_cases()]
    for option in fuzzcases.NUMERIC:
        cases += [("numeric", fuzzcases.numeric_case(option, text)) for text in fuzzcases.NUMBERS]
    for inputs in fuzzcases.INPUT_SETS:
        for spec in fuzzcases.OUTPUT_SPECS:
            for flags in fuzzcases.FLAG_SETS:
                cases.append(("output", fuzzcases.output_case(inputs, spec, flags, None)))
    for flags in fuzzcases.FLAG_SETS:
        for ext in fuzzcases.EXTS[1:]:
            cases.append(("output", fuzzcases.output_case(("a.png",), "-", flags, ext)))
    for kind in fuzzcases.CORRUPTIONS:
        cases += [("checkpoint", fuzzcases.checkpoint_case(kind, position)) for position in POSITIONS]
    cases += [("option", case) for _, case in fuzzcases.option_cases()]
    return cases


def command_of(case: fuzzcases.Case) -> str:
    """The command a case runs: ``upscale``, ``train sr``, ``models info``."""
    return " ".join(case.args[:2] if case.args[0] in GROUPS else case.args[:1])


GROUPS = ("train", "cs", "models")


def summary(verdicts: list[tuple[str, fuzzcases.Verdict]]) -> dict[str, object]:
    def figures(chosen: list[fuzzcases.Verdict]) -> dict[str, object]:
        return {
            "cases": len(chosen),
            "one_line_and_documented_exit": sum(v.one_line_and_right_status for v in chosen),
            "left_something_behind": sum(bool(v.left_behind) for v in chosen),
            "hung": sum(v.outcome.timed_out for v in chosen),
            "tracebacks": sum("a traceback" in v.problems for v in chosen),
            "kept_the_whole_contract": sum(not v.problems for v in chosen),
            "max_peak_mb": round(max((v.outcome.peak_mb for v in chosen), default=0.0), 1),
        }

    groups = sorted({group for group, _ in verdicts})
    commands = sorted({command_of(v.case) for _, v in verdicts})
    return {
        "all": figures([v for _, v in verdicts]),
        "by_group": {group: figures([v for g, v in verdicts if g == group]) for group in groups},
        "by_command": {
            command: figures([v for _, v in verdicts if command_of(v.case) == command]) for command in commands
        },
        "exit_statuses": dict(Counter(str(v.outcome.status) for _, v in verdicts)),
    }


def torch_version() -> str:
    """The torch that ran the cases (imported only here: the cases run in their own processes)."""
    import torch

    return torch.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "robustness.json")
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree whose srcli runs the cases")
    parser.add_argument("--timeout", type=float, default=fuzzcases.TIMEOUT)
    parser.add_argument("--commit", default=None, help="the commit --root holds, where it is not a git checkout")
    parser.add_argument("--group", action="append", help="run only this group of cases (repeatable)")
    arguments = parser.parse_args()
    fuzzcases.TIMEOUT = arguments.timeout
    started = time.time()
    scratch = Path(tempfile.mkdtemp(prefix="srcli-robustness-"))
    verdicts: list[tuple[str, fuzzcases.Verdict]] = []
    try:
        fuzzcases.make_assets(scratch / "assets")
        with Sandbox(arguments.root) as sandbox:
            chosen = [(g, c) for g, c in grid() if not arguments.group or g in arguments.group]
            for index, (group, case) in enumerate(chosen):
                verdict = fuzzcases.run_case(sandbox, case, scratch / "assets", scratch / f"case-{index}")
                shutil.rmtree(scratch / f"case-{index}")
                verdicts.append((group, verdict))
                if verdict.problems:
                    print(f"[{group}] {case.name}: {verdict.problems}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    failures = [v for _, v in verdicts if v.problems]
    commit = subprocess.run(["git", "-C", str(arguments.root), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    result = {
        "script": "benchmarks/house/robustness.py",
        "date": time.strftime("%Y-%m-%d"),
        "tree": str(arguments.root),
        "commit": arguments.commit or commit or "unknown (not a git checkout)",
        "machine": machine() | {"python": platform.python_version(), "torch": torch_version()},
        "limits": {"memory_bytes_over_zygote": fuzzcases.MEMORY, "timeout_s": arguments.timeout},
        "seconds": round(time.time() - started, 1),
        **summary(verdicts),
        "problem_kinds": dict(Counter(kind(p) for _, v in verdicts for p in v.problems).most_common()),
        "failures_listed": f"{min(len(failures), MAX_LISTED)} of {len(failures)}",
        "failures": [v.as_json() for v in failures[:MAX_LISTED]],
    }
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(result["all"]), file=sys.stderr)


if __name__ == "__main__":
    main()
