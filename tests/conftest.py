"""Shared fixtures: seeded generators, the shared data folder, a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import srcli  # noqa: F401  (silences torch's NumPy warning before torch is imported)
from srcli.cli import app

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def generator() -> torch.Generator:
    """A CPU generator seeded the same for every test: inputs are random but repeatable."""
    return torch.Generator().manual_seed(1234)


@pytest.fixture(params=["cpu", "cuda"])
def device(request) -> torch.device:
    """Each device a test should hold on: the CPU, and CUDA where this machine has it (skipped elsewhere)."""
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    return torch.device(request.param)


@pytest.fixture
def shared_data() -> Path:
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"shared data not found at {data} (tests that need the benchmark images skip without it)")
    return data


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str, input: bytes | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input)

    return invoke
