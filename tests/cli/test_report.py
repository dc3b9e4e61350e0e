"""What srcli prints on stderr."""

from __future__ import annotations

from srcli.cli import report


def test_a_long_note_stays_one_line_when_stderr_is_not_a_terminal(capsys):
    report.note("step=1, " + "x" * 200)
    assert capsys.readouterr().err == "step=1, " + "x" * 200 + "\n"
