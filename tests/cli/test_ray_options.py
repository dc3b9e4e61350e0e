"""``--ray`` where Ray is not installed, and ``--workers`` without Ray: one line each, before any work."""

from __future__ import annotations

import sys

import pytest

from tests.images import random_channels, save_8bit


@pytest.fixture
def no_ray(monkeypatch):
    """Ray as if it were not installed, whether or not it is."""
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delitem(sys.modules, "srcli.tasks.raybatch", raising=False)


@pytest.mark.parametrize("command", ["upscale", "colorize"])
@pytest.mark.parametrize("flags", [["--ray"], ["--ray-address", "127.0.0.1:6379"]])
def test_without_ray_the_flag_says_how_to_install_it(cli, tmp_path, generator, no_ray, command, flags):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 8, 8))
    result = cli(command, image, "-o", tmp_path / "out", *flags)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "srcli: error: --ray needs Ray, which is not installed: pip install 'srcli[ray]'"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


def test_workers_without_ray_is_one_line(cli, tmp_path, generator):
    image = save_8bit(tmp_path / "in.png", random_channels(generator, 3, 8, 8))
    result = cli("upscale", image, "-o", tmp_path / "out", "--workers", "2")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "srcli: error: --workers is the number of Ray workers; pass --ray (or --ray-address) with it"
    ]
