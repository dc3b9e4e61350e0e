"""The engine refuses network outputs that are not numbers before they reach the operator, and a retried job
recognises the output its dead attempt wrote."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from srcli.errors import ModelError
from srcli.tasks import run
from srcli.tasks.batch import Job
from srcli.tasks.run import OUTPUT_LIMIT, RunOptions, Timings, fill_tiles, run_job


def run_with(value: float) -> torch.Tensor:
    x = torch.rand(1, 3, 8, 8)
    out = torch.zeros(3, 16, 16)

    def network(window: torch.Tensor) -> torch.Tensor:
        core = window.repeat_interleave(2, -1).repeat_interleave(2, -2).clone()
        core[..., 0, 0] = value
        return core

    def finish(core: torch.Tensor, measured: torch.Tensor, target: torch.Tensor) -> None:
        target.copy_(core)

    return fill_tiles(network, x, x[0], out, finish, tile=4, overlap=1, scale=2, timings=Timings(), on_tile=None)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 10 * OUTPUT_LIMIT, -10 * OUTPUT_LIMIT])
def test_a_core_that_is_not_an_image_is_refused_in_one_line(value):
    with pytest.raises(ModelError, match=r"the model produced .* values") as refused:
        run_with(value)
    assert "\n" not in str(refused.value)


def test_ordinary_values_pass():
    assert run_with(0.5).shape == (3, 16, 16)


class Copy:
    """A task that writes its input's bytes with one byte changed, counting its work."""

    name = "copy"
    options = RunOptions()

    def __init__(self) -> None:
        self.restored = 0

    def read(self, source: str) -> bytes:
        return Path(source).read_bytes()

    def check_target(self, job: Job, overwrite: bool) -> None:
        job.refuse_existing_target(overwrite)

    def restore(self, item: bytes, timings: Timings, on_tile) -> bytes:
        self.restored += 1
        return b"restored " + item

    def encode(self, result: bytes, suffix: str) -> tuple[bytes, None]:
        return result, None

    def record(self, item: bytes, data: bytes, kept: None, job: Job) -> dict[str, object]:
        return {"size": len(data)}


@pytest.fixture
def job(tmp_path) -> Job:
    (tmp_path / "in.bin").write_bytes(b"input")
    return Job(str(tmp_path / "in.bin"), str(tmp_path / "out.bin"))


def test_a_retried_job_takes_the_output_its_dead_attempt_wrote(job):
    """A worker that died after writing: the retry makes the same bytes, leaves the file and reports it."""
    Path(job.target).write_bytes(b"restored input")
    written = Path(job.target).stat().st_mtime_ns
    record = run_job(job, Copy(), overwrite=False, skip_existing=False, retry=True)
    assert record["error"] is None and record["size"] == len(b"restored input")
    assert Path(job.target).stat().st_mtime_ns == written


def test_a_retried_job_still_refuses_an_output_that_is_not_its_own(job):
    Path(job.target).write_bytes(b"someone else's")
    task = Copy()
    record = run_job(job, task, overwrite=False, skip_existing=False, retry=True)
    assert record["output"] is None and record["error"] == f"{job.target}: exists (pass --overwrite to replace it)"
    assert task.restored == 1 and Path(job.target).read_bytes() == b"someone else's"


def test_a_first_attempt_refuses_an_existing_output_before_any_work(job):
    Path(job.target).write_bytes(b"restored input")
    task = Copy()
    record = run_job(job, task, overwrite=False, skip_existing=False)
    assert "exists (pass --overwrite to replace it, or --skip-existing)" in record["error"] and task.restored == 0
    assert run_job(job, task, overwrite=False, skip_existing=True) == {
        "input": job.source, "output": job.target, "skipped": True, "error": None,
    }  # fmt: skip
    assert task.restored == 0


@pytest.mark.parametrize(
    ("value", "on", "bf16"),
    [(None, True, True), ("1", True, True), ("fp32", True, False), (" FP32 ", True, False), ("0", False, False),
     ("false", False, False), (" OFF ", False, False), ("no", False, False)],
)  # fmt: skip
def test_srcli_accelerate_environment_variable(monkeypatch, value, on, bf16):
    monkeypatch.setattr("srcli.tasks.run.cpu_computes_bf16", lambda: True)
    if value is None:
        monkeypatch.delenv("SRCLI_ACCELERATE", raising=False)
    else:
        monkeypatch.setenv("SRCLI_ACCELERATE", value)
    options = RunOptions()
    assert options.accelerate is on and options.cpu_bf16 is bf16
    assert options.memory_format == (torch.channels_last if on else torch.contiguous_format)


def test_bfloat16_stays_off_on_a_cpu_that_does_not_compute_it(monkeypatch):
    monkeypatch.setattr("srcli.tasks.run.cpu_computes_bf16", lambda: False)
    monkeypatch.delenv("SRCLI_ACCELERATE", raising=False)
    assert RunOptions().accelerate and not RunOptions().cpu_bf16


@pytest.mark.parametrize(
    ("flags", "native"),
    [("fpu avx2 avx512f", False), ("fpu avx512f avx512_bf16", True), ("fpu amx_bf16 amx_tile", True), (None, False)],
)
def test_cpu_computes_bf16_reads_the_flags_of_proc_cpuinfo(monkeypatch, tmp_path, flags, native):
    info = tmp_path / "cpuinfo"
    if flags is not None:
        info.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\n")
    real_open = open

    def fake_open(path, *args, **kwargs):
        return real_open(info if path == "/proc/cpuinfo" else path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    run.cpu_computes_bf16.cache_clear()
    try:
        assert run.cpu_computes_bf16() is native
    finally:
        run.cpu_computes_bf16.cache_clear()
