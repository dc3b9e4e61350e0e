"""The one error boundary: bad input is one line and exit 2; a bug says it is one, with its traceback."""

from __future__ import annotations

import pytest

from srcli.cli.common import EXIT_BAD_INPUT, EXIT_INTERNAL
from srcli.errors import SrcliError
from tests.images import random_channels, save_8bit


def test_a_broken_internal_function_is_reported_as_a_bug_with_its_traceback(cli, tmp_path, generator, monkeypatch):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 8, 8))

    def broken(*args, **kwargs):
        raise RuntimeError("shape mismatch deep inside the engine")

    monkeypatch.setattr("srcli.tasks.sr.fill_tiles", broken)
    result = cli("upscale", image, "--scale", "4", "-o", tmp_path / "out.png")
    assert result.exit_code == EXIT_INTERNAL
    assert "Traceback (most recent call last)" in result.output
    assert "internal error (a bug; please report it): RuntimeError: shape mismatch" in result.output
    assert "srcli: error:" not in result.output  # never disguised as bad input
    assert not (tmp_path / "out.png").exists()


def test_a_bad_input_is_one_line_and_exit_2(cli, tmp_path):
    (tmp_path / "not.png").write_bytes(b"this is no image")
    result = cli("check", tmp_path / "not.png", tmp_path / "not.png")
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.output.count("\n") == 1 and result.output.startswith("srcli: error:")
    assert "Traceback" not in result.output


def test_a_known_error_shows_its_traceback_under_debug(cli, tmp_path):
    (tmp_path / "not.png").write_bytes(b"this is no image")
    result = cli("--debug", "check", tmp_path / "not.png", tmp_path / "not.png")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "Traceback (most recent call last)" in result.output and "srcli: error:" in result.output


@pytest.mark.parametrize("name", ["ImageError", "MeasurementError", "OptionError", "ModelError", "TrainError"])
def test_every_known_error_shares_the_base(name):
    import srcli.errors

    assert issubclass(getattr(srcli.errors, name), SrcliError)


def test_a_usage_error_of_click_is_one_line_with_the_help_hint(cli):
    result = cli("upscale", "in.png", "--tile", "1.5")
    assert result.exit_code == EXIT_BAD_INPUT
    (line,) = result.output.splitlines()
    assert line.startswith("srcli: error: Invalid value for '--tile'") and line.endswith("upscale --help)")


def test_a_bare_group_still_shows_its_help(cli):
    result = cli("train")
    assert "Usage:" in result.output and "srcli: error" not in result.output


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_non_finite_number_is_refused_for_any_option_naming_it(cli, tmp_path, value):
    result = cli("check", tmp_path / "sr.png", tmp_path / "lr.png", "--min-psnr", value)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.output.splitlines() == [f"srcli: error: --min-psnr must be a finite number, got {float(value)}"]


def test_running_out_of_memory_is_one_line_not_a_bug(cli, tmp_path, generator, monkeypatch):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 8, 8))

    def allocate(*args, **kwargs):
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: "
            "you tried to allocate 40000000000 bytes. Error code 12 (Cannot allocate memory)"
        )

    monkeypatch.setattr("srcli.tasks.sr.fill_tiles", allocate)
    result = cli("upscale", image, "--scale", "4", "-o", tmp_path / "out.png")
    assert result.exit_code == EXIT_BAD_INPUT and "Traceback" not in result.output
    (line,) = result.output.splitlines()
    assert line.startswith("srcli: error: out of memory (an allocation of 37.3 GiB failed)")
    assert not (tmp_path / "out.png").exists()


def test_a_crash_in_native_code_prints_the_python_stack(tmp_path):
    """The ``srcli`` entry point makes a segmentation fault (torch, libjpeg) print where every thread was, instead
    of a bare "Segmentation fault"; here a crash is made on purpose while a command runs."""
    import subprocess
    import sys

    script = (
        "import ctypes\n"
        "import srcli.cli as cli\n"
        "cli.app = lambda: ctypes.string_at(0)\n"  # the command, a null read: SIGSEGV
        "cli.main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "Fatal Python error: Segmentation fault" in done.stderr
    assert "Current thread" in done.stderr or "Thread 0x" in done.stderr
