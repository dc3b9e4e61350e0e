"""Ctrl-C (and SIGTERM) in a batch: exit 130 (143), every written file complete and reported, one line saying
where it stopped, no temporary left."""

from __future__ import annotations

import json
import os
import signal
import stat

import pytest
import torch

from srcli.archs.compact import SRVGGNetCompact
from srcli.checkpoints.load import save_checkpoint
from srcli.tasks import pipeline, sr
from srcli.tasks import run as engine
from tests.images import random_channels, save_8bit


@pytest.fixture
def batch(tmp_path, generator):
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "x2.safetensors", SRVGGNetCompact(3, 8, 2, 2), {"task": "sr"})
    (tmp_path / "in").mkdir()
    for index in range(5):
        save_8bit(tmp_path / "in" / f"p{index}.png", random_channels(generator, 3, 6, 5))
    return tmp_path


def ctrl_c_on_call(monkeypatch, module, name: str, call: int, before: bool, sent: int = signal.SIGINT) -> None:
    """Send ``sent`` (SIGINT) to this process on the ``call``-th call of ``module.name`` (before or after it runs)."""
    real, calls = getattr(module, name), []

    def wrapped(*args, **kwargs):
        calls.append(1)
        if before and len(calls) == call:
            signal.raise_signal(sent)
        result = real(*args, **kwargs)
        if not before and len(calls) == call:
            signal.raise_signal(sent)
        return result

    monkeypatch.setattr(module, name, wrapped)


def upscale(cli, batch):
    return cli("upscale", batch / "in", "--model", batch / "x2.safetensors", "-o", batch / "out", "--json")


def outputs(batch) -> list[str]:
    return sorted(p.name for p in (batch / "out").iterdir()) if (batch / "out").exists() else []


def test_ctrl_c_while_a_file_is_written_finishes_and_reports_it(cli, batch, monkeypatch):
    ctrl_c_on_call(monkeypatch, engine, "write_bytes_atomic", 2, before=False)
    result = upscale(cli, batch)
    assert result.exit_code == 130
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["output"].split("/")[-1] for r in records] == outputs(batch) == ["p0_x2.png", "p1_x2.png"]
    assert all(r["consistency_exact"] for r in records)
    assert "stopped after 2 of 5 file(s)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("srcli: interrupted: stopped after 2 of 5")


@pytest.fixture
def one_at_a_time(monkeypatch):
    """The batch computes one file at a time (as on one core), not small files side by side."""
    monkeypatch.setattr(pipeline, "file_workers", lambda options, jobs: 1)


def test_ctrl_c_while_a_file_is_computed_stops_at_once_and_writes_nothing_of_it(cli, batch, monkeypatch, one_at_a_time):
    ctrl_c_on_call(monkeypatch, sr, "fill_tiles", 3, before=True)
    result = upscale(cli, batch)
    assert result.exit_code == 130
    assert len(result.stdout.splitlines()) == 2 and outputs(batch) == ["p0_x2.png", "p1_x2.png"]
    assert "stopped after 2 of 5 file(s)" in result.stderr


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_files_are_computed_side_by_side_writes_only_what_it_reports(cli, batch, monkeypatch, sent):
    monkeypatch.setattr(pipeline, "file_workers", lambda options, jobs: 2)
    ctrl_c_on_call(monkeypatch, sr, "fill_tiles", 3, before=True, sent=sent)
    result = upscale(cli, batch)
    assert result.exit_code == (130 if sent == signal.SIGINT else 143)
    reported = [json.loads(line)["output"].split("/")[-1] for line in result.stdout.splitlines()]
    assert reported == outputs(batch) and len(reported) < 3
    assert f"stopped after {len(reported)} of 5 file(s)" in result.stderr


def test_sigterm_while_a_file_is_written_finishes_it_and_exits_143(cli, batch, monkeypatch):
    ctrl_c_on_call(monkeypatch, engine, "write_bytes_atomic", 3, before=False, sent=signal.SIGTERM)
    result = upscale(cli, batch)
    assert result.exit_code == 143
    assert len(result.stdout.splitlines()) == 3 and outputs(batch) == ["p0_x2.png", "p1_x2.png", "p2_x2.png"]
    assert result.stderr.strip().splitlines()[-1].startswith("srcli: interrupted: stopped after 3 of 5")


def test_sigterm_while_a_file_is_computed_stops_at_once_leaving_no_temporary(cli, batch, monkeypatch, one_at_a_time):
    ctrl_c_on_call(monkeypatch, sr, "fill_tiles", 2, before=True, sent=signal.SIGTERM)
    result = upscale(cli, batch)
    assert result.exit_code == 143 and outputs(batch) == ["p0_x2.png"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the batch gave the handler back


def test_quiet_ctrl_c_is_one_line(cli, batch, monkeypatch):
    ctrl_c_on_call(monkeypatch, sr, "fill_tiles", 1, before=True)
    result = cli("upscale", batch / "in", "--model", batch / "x2.safetensors", "-o", batch / "out", "-q")
    assert result.exit_code == 130 and outputs(batch) == []
    assert result.stderr.splitlines() == [
        "srcli: interrupted: stopped after 0 of 5 file(s); the files written are complete"
    ]


def test_ctrl_c_before_the_batch_is_one_line(cli, batch, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("srcli.checkpoints.plan.sr_plan", interrupted)  # where the planner looks it up
    result = upscale(cli, batch)
    assert result.exit_code == 130 and result.stderr.splitlines() == ["srcli: interrupted: stopped by Ctrl-C"]


def test_outputs_are_readable_as_a_plain_write_leaves_them(cli, batch):
    saved = os.umask(0o022)
    try:
        assert upscale(cli, batch).exit_code == 0
    finally:
        os.umask(saved)
    modes = {stat.S_IMODE((batch / "out" / name).stat().st_mode) for name in outputs(batch)}
    assert modes == {0o644} and stat.S_IMODE((batch / "out").stat().st_mode) == 0o755
