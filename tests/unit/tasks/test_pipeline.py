"""Small files computed side by side: records in input order, each thread with a task of its own, nothing of a
file written once Ctrl-C has come, and the batch's files the same as one file at a time on one thread."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import pytest
import torch
from PIL import Image

from srcli.errors import ImageError
from srcli.tasks import pipeline
from srcli.tasks.batch import Job
from srcli.tasks.interrupts import held_interrupts
from srcli.tasks.pipeline import SMALL_INPUT, file_workers, pipelined_records
from srcli.tasks.run import RunOptions, Timings
from tests.images import save_8bit


class Stamp:
    """A task that writes ``stamped <input>``; it refuses inputs holding ``bad``, waits on ``hold`` (reporting
    tiles meanwhile) for inputs holding ``slow``, and fails the test if two threads use it at once."""

    name = "stamp"
    options = RunOptions()

    def __init__(self, hold: threading.Event | None = None) -> None:
        self.hold, self.busy = hold, threading.Lock()

    def read(self, source: str) -> bytes:
        data = Path(source).read_bytes()
        if b"bad" in data:
            raise ImageError(f"{source}: bad")
        return data

    def check_target(self, job: Job, overwrite: bool) -> None:
        job.refuse_existing_target(overwrite)

    def restore(self, item: bytes, timings: Timings, on_tile) -> bytes:
        assert self.busy.acquire(blocking=False), "one task used by two threads at once"
        try:
            for tile in range(500):
                if b"slow" not in item or (self.hold is not None and self.hold.is_set()):
                    break
                on_tile(tile, 500)
                threading.Event().wait(0.01)
            return b"stamped " + item
        finally:
            self.busy.release()

    def encode(self, result: bytes, suffix: str) -> tuple[bytes, None]:
        return result, None

    def record(self, item: bytes, data: bytes, kept: None, job: Job) -> dict[str, object]:
        return {"size": len(data)}


def fresh(options: RunOptions) -> Stamp:
    return Stamp()


def jobs_of(folder: Path, contents: list[bytes]) -> list[Job]:
    jobs = []
    for index, content in enumerate(contents):
        (folder / f"in{index}.bin").write_bytes(content)
        jobs.append(Job(str(folder / f"in{index}.bin"), str(folder / f"out{index}.bin")))
    return jobs


def test_records_come_in_input_order_with_errors_in_place(tmp_path):
    contents = [b"slow a", b"b", b"bad c", b"d", b"slow e", b"f", b"g"]
    jobs = jobs_of(tmp_path, contents)
    made: list[Stamp] = []

    def make_task(options: RunOptions) -> Stamp:
        made.append(Stamp(threading.Event()))
        made[-1].hold.set()
        return made[-1]

    first = Stamp(threading.Event())
    first.hold.set()
    records = list(pipelined_records(jobs, first, make_task, False, False, lambda job: None, workers=3))
    assert [record["input"] for record in records] == [job.source for job in jobs]
    assert [record["error"] is not None for record in records] == [False, False, True, False, False, False, False]
    assert len(made) <= 2  # the first thread runs the batch's own task
    for job, content in zip(jobs, contents, strict=True):
        assert Path(job.target).exists() == (b"bad" not in content)
        if b"bad" not in content:
            assert Path(job.target).read_bytes() == b"stamped " + content


def test_existing_outputs_are_skipped_or_refused_as_one_at_a_time(tmp_path):
    jobs = jobs_of(tmp_path, [b"a", b"b", b"c"])
    Path(jobs[1].target).write_bytes(b"mine")
    skipped = list(pipelined_records(jobs, Stamp(), fresh, False, True, lambda job: None, workers=2))
    assert [record.get("skipped", False) for record in skipped] == [False, True, False]
    Path(jobs[0].target).unlink()
    refused = list(pipelined_records(jobs, Stamp(), fresh, False, False, lambda job: None, workers=2))
    assert "exists" in refused[1]["error"] and Path(jobs[1].target).read_bytes() == b"mine"


def test_ctrl_c_while_files_are_computed_writes_none_of_them(tmp_path):
    jobs = jobs_of(tmp_path, [b"a", b"slow b", b"c", b"d"])
    main = threading.main_thread().ident
    assert main is not None
    done = []
    ctrl_c = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))  # while "slow b" computes
    try:
        with held_interrupts(), pytest.raises(KeyboardInterrupt):
            for record in pipelined_records(jobs, Stamp(), fresh, False, False, lambda job: None, 2):
                done.append(record["input"])
                ctrl_c.start()
    finally:
        ctrl_c.cancel()
    assert done == [jobs[0].source]
    assert [Path(job.target).exists() for job in jobs] == [True, False, False, False]


def test_ctrl_c_held_while_a_file_is_written_stops_before_the_next(tmp_path):
    jobs = jobs_of(tmp_path, [b"a", b"b", b"c"])
    done = []
    with held_interrupts() as held, pytest.raises(KeyboardInterrupt):
        for record in pipelined_records(jobs, Stamp(), fresh, False, False, lambda job: None, workers=2):
            done.append(record["input"])
            signal.raise_signal(signal.SIGINT)  # as if it came while this record was written and printed
            assert held.pending
    assert done == [jobs[0].source] and not Path(jobs[1].target).exists()


def test_tile_progress_reaches_the_display_of_the_file_awaited(tmp_path):
    jobs = jobs_of(tmp_path, [b"a", b"slow b"])
    hold = threading.Event()
    shown: dict[str, list[tuple[int, int]]] = {job.source: [] for job in jobs}

    def starting(job: Job):
        if job is jobs[1]:
            threading.Timer(0.1, hold.set).start()
        return lambda done, total, stage="tiles": shown[job.source].append((done, total))

    list(pipelined_records(jobs, Stamp(hold), lambda options: Stamp(hold), False, False, starting, workers=2))
    assert shown[jobs[1].source] and all(total == 500 for _, total in shown[jobs[1].source])


def test_small_inputs_on_several_threads_run_side_by_side(tmp_path, monkeypatch):
    small = save_8bit(tmp_path / "small.png", torch.zeros(3, 8, 8))
    side = int(SMALL_INPUT**0.5) + 1
    large = tmp_path / "large.png"
    Image.new("L", (side, side)).save(large)
    cpu = RunOptions(device=torch.device("cpu"))
    smalls = [Job(str(small), str(tmp_path / f"o{i}.png")) for i in range(5)]
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert file_workers(cpu, smalls) == 2
    assert file_workers(cpu, smalls[:1]) == 1
    assert file_workers(cpu, [*smalls, Job(str(large), str(tmp_path / "big.png"))]) == 1
    assert file_workers(cpu, [*smalls, Job("-", "-")]) == 1
    assert file_workers(RunOptions(device=torch.device("meta")), smalls) == 1
    monkeypatch.setenv("SRCLI_ACCELERATE", "0")
    assert file_workers(cpu, smalls) == 1
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    monkeypatch.delenv("SRCLI_ACCELERATE")
    assert file_workers(cpu, smalls) == 1


def test_a_batch_side_by_side_saves_what_one_file_at_a_time_on_one_thread_does(cli, tmp_path, generator, monkeypatch):
    side_by_side = []

    def spy(*args, **kwargs):
        side_by_side.append(args[6])  # workers
        return pipelined_records(*args, **kwargs)

    monkeypatch.setattr(pipeline, "pipelined_records", spy)
    folder = tmp_path / "in"
    folder.mkdir()
    for index in range(4):
        save_8bit(folder / f"p{index}.png", torch.rand(3, 12 + index, 16, generator=generator) * 255)
    threads = torch.get_num_threads()
    try:
        runs = {}
        for count in (2, 1):
            torch.set_num_threads(count)
            result = cli("upscale", folder, "-o", tmp_path / f"out{count}", "--scale", "2", "--json", "-q")
            assert result.exit_code == 0, result.output
            runs[count] = [json.loads(line) for line in result.stdout.splitlines()]
    finally:
        torch.set_num_threads(threads)
    assert side_by_side == [2]
    assert [record["input"] for record in runs[2]] == [str(folder / f"p{index}.png") for index in range(4)]
    for side, alone in zip(runs[2], runs[1], strict=True):
        assert side["consistency_exact"] and Path(side["output"]).read_bytes() == Path(alone["output"]).read_bytes()
