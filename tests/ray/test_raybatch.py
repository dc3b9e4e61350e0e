"""``srcli upscale --ray``: a local Ray gives the local batch's files and records, and a worker killed in the
middle of a batch loses nothing. Runs where srcli[ray] is installed; the tests that start Ray are slow
(CI runs them in the venv of the extras)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srcli.archs.compact import SRVGGNetCompact
from srcli.checkpoints.load import save_checkpoint
from tests.images import random_channels, save_8bit

ray = pytest.importorskip("ray", reason="the Ray engine needs srcli[ray] (pip install 'srcli[ray]')")

ROOT = Path(__file__).resolve().parents[2]
FILES = 40
TIMINGS = ("seconds", "network_seconds", "projection_seconds")


@pytest.fixture(scope="module")
def local_ray():
    """One small local Ray for the module (2 CPUs, a small object store, no dashboard), whose workers
    import srcli from this tree; the batches join it."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    ray.init(
        num_cpus=2,
        object_store_memory=100 * 2**20,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """``in/``: 40 random 16×16 RGB images; ``x2.safetensors``: a small random ×2 network."""
    root = tmp_path_factory.mktemp("ray")
    torch.manual_seed(29)
    save_checkpoint(root / "x2.safetensors", SRVGGNetCompact(3, 8, 2, 2), {"task": "sr"})
    generator = torch.Generator().manual_seed(29)
    (root / "in").mkdir()
    for index in range(FILES):
        save_8bit(root / "in" / f"p{index:02d}.png", random_channels(generator, 3, 16, 16))
    return root


def upscale(cli, folder: Path, inputs: Path, out: Path, *flags: str):
    return cli("upscale", inputs, "--model", folder / "x2.safetensors", "-o", out, "--json", *flags)


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def comparable(stdout: str, out: Path) -> list[dict]:
    """The records without their timings and output folder, in input order (Ray's come as files finish)."""
    kept = []
    for record in records(stdout):
        record = {key: value for key, value in record.items() if key not in TIMINGS}
        if record["output"]:
            record["output"] = str(Path(record["output"]).relative_to(out))
        kept.append(record)
    return sorted(kept, key=lambda record: record["input"])


def reduces_to_input(output: Path, source: Path) -> bool:
    """The saved file's 2×2 box means (Pillow's ``reduce``) equal its input byte for byte."""
    with Image.open(output) as saved, Image.open(source) as original:
        return np.array_equal(np.asarray(saved.reduce(2)), np.asarray(original))


def hidden(out: Path) -> list[str]:
    """Temporaries (``.NAME.XXXXXXXX.tmp``) and placeholders of the atomic writes: none may be left."""
    return sorted(p.name for p in out.iterdir() if p.name.startswith("."))


@pytest.mark.slow
def test_a_ray_batch_gives_the_local_batch_files_and_records(cli, local_ray, folder, tmp_path):
    inputs = tmp_path / "in"
    shutil.copytree(folder / "in", inputs)
    (inputs / "broken.png").write_bytes(b"not an image")  # fails alone; the batch goes on
    local = upscale(cli, folder, inputs, tmp_path / "local")
    on_ray = upscale(cli, folder, inputs, tmp_path / "ray", "--ray", "--workers", "2")
    assert local.exit_code == on_ray.exit_code == 1, on_ray.stderr
    names = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert len(names) == FILES and names == sorted(p.name for p in (tmp_path / "ray").iterdir())
    assert all((tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes() for name in names)
    expected = comparable(local.stdout, tmp_path / "local")
    assert comparable(on_ray.stdout, tmp_path / "ray") == expected
    assert sum(1 for record in expected if record["error"] is None and record["consistency_exact"]) == FILES
    assert "Ray: 2 worker(s), 1 CPU each" in on_ray.stderr

    for name in names[:3]:  # a batch stopped short: a rerun with --skip-existing does the rest
        (tmp_path / "ray" / name).unlink()
    resumed = upscale(cli, folder, inputs, tmp_path / "ray", "--ray", "--workers", "2", "--skip-existing")
    assert resumed.exit_code == 1
    done = {Path(r["output"]).name for r in records(resumed.stdout) if r["error"] is None and not r.get("skipped")}
    assert done == set(names[:3])
    assert sum(1 for record in records(resumed.stdout) if record.get("skipped")) == FILES - 3
    assert all((tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes() for name in names)


def parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def worker_pids() -> list[int]:
    """This process's Ray Data actors (``ray::MapWorker...``): children of the raylet it started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "cmdline").read_bytes().startswith(b"ray::MapWorker") and (
                parent(parent(int(entry.name))) == os.getpid()
            ):
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="finds Ray's worker processes in Linux /proc")
def test_a_worker_killed_in_the_middle_of_a_batch_loses_nothing(cli, local_ray, folder, tmp_path):
    """SIGKILL one of the two workers once 3 files are written: Ray starts it again and gives it its files
    again; every output is there and exact, no temporary is left, and the exit code is 0 (every file done)."""
    out = tmp_path / "out"
    seen: dict[str, set[int]] = {"before": set(), "after": set()}
    killed: dict[str, int] = {}
    finished = threading.Event()

    def kill_a_worker() -> None:
        while not finished.is_set():
            workers = set(worker_pids())
            if killed:
                seen["after"] |= workers - seen["before"]
            else:
                seen["before"] |= workers
                written = len(list(out.glob("*.png"))) if out.is_dir() else 0
                if written >= 3 and workers:
                    victim = min(workers)
                    os.kill(victim, signal.SIGKILL)
                    killed.update(pid=victim, written=written)
            time.sleep(0.005)

    killer = threading.Thread(target=kill_a_worker, daemon=True)
    killer.start()
    try:
        result = upscale(cli, folder, folder / "in", out, "--ray", "--workers", "2")
    finally:
        finished.set()
        killer.join()
    assert killed and killed["written"] < FILES, "a worker was killed while the batch ran"
    assert seen["after"], "Ray started a worker again"
    assert result.exit_code == 0, result.stderr
    done = records(result.stdout)
    assert len(done) == FILES and all(record["error"] is None and record["consistency_exact"] for record in done)
    sources = sorted((folder / "in").iterdir())
    assert sorted(p.name for p in out.glob("*.png")) == [f"{source.stem}_x2.png" for source in sources]
    assert all(reduces_to_input(out / f"{source.stem}_x2.png", source) for source in sources)
    assert hidden(out) == []


@pytest.mark.slow
@pytest.mark.skipif(torch.backends.mps.is_available(), reason="needs a machine without MPS")
def test_a_worker_that_cannot_build_the_task_stops_the_batch_in_one_line(cli, local_ray, folder, tmp_path):
    """The device is each worker's to find; one that lacks it says so, as the local batch would."""
    result = upscale(cli, folder, folder / "in", tmp_path / "out", "--ray", "--workers", "2", "--device", "mps")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == "srcli: error: device mps was asked for, but MPS is not available"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("127.0.0.1:1", "cannot join the Ray cluster at 127.0.0.1:1: Connection refused"),
        ("head-node", "Ray address 'head-node' must be HOST:PORT, ray://HOST:PORT or auto"),
    ],
)
def test_a_cluster_address_that_does_not_answer_is_one_line(cli, folder, tmp_path, address, message):
    result = upscale(cli, folder, folder / "in" / "p00.png", tmp_path / "out.png", "--ray-address", address)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"srcli: error: {message}"]
    assert list(tmp_path.iterdir()) == []


def test_an_address_where_something_else_listens_is_one_line(cli, folder, tmp_path):
    """A web server (a dashboard's port, say) answers, but not as Ray: refused at once, where Ray itself
    would try for many minutes."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer_as_http() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(1024)
            connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer_as_http, daemon=True)
    thread.start()
    try:
        address = f"127.0.0.1:{port}"
        result = upscale(cli, folder, folder / "in" / "p00.png", tmp_path / "out.png", "--ray-address", address)
    finally:
        thread.join(timeout=10)
        server.close()
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"srcli: error: cannot join the Ray cluster at 127.0.0.1:{port}: what answers there is not Ray "
        "(give the head's address, HOST:6379 unless it was started with another --port)"
    ]
    assert list(tmp_path.iterdir()) == []
