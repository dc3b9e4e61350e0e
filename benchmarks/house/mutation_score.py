"""Per-module mutation score from mutmut's results in ``./mutants`` (run ``mutmut run`` first; issue #36).

Reads the ``*.py.meta`` files mutmut 3 writes beside each mutated module and prints a Markdown table: killed,
survived, timeout, no tests, other, total, and the score ``killed / (total − no tests)`` and ``killed / total``.
``--survivors`` also lists the surviving mutants' names (``mutmut show NAME`` prints each diff).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 36: "timeout", 24: "timeout"}
STATUS |= {-24: "timeout", 152: "timeout", 255: "timeout"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants too")
    args = parser.parse_args()
    print("| module | killed | survived | timeout | no tests | other | total | score (tested) | score (all) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    survivors: list[str] = []
    for meta in sorted(args.mutants.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts = Counter(STATUS.get(code, "other") for code in codes.values())
        survivors += sorted(name for name, code in codes.items() if STATUS.get(code) == "survived")
        total, killed = len(codes), counts["killed"]
        tested = total - counts["no tests"]
        module = meta.relative_to(args.mutants).as_posix().removesuffix(".meta")
        scores = f"{100 * killed / max(tested, 1):.1f} % | {100 * killed / max(total, 1):.1f} %"
        print(
            f"| `{module}` | {killed} | {counts['survived']} | {counts['timeout']} | {counts['no tests']} "
            f"| {counts['other']} | {total} | {scores} |"
        )
    if args.survivors:
        print("\n".join(["", *survivors]))


if __name__ == "__main__":
    main()
